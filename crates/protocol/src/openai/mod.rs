//! The openai dialect (in progress).
