//! The gemini dialect (in progress).
