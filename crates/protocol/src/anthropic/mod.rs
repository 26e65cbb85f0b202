//! The anthropic dialect (in progress).
