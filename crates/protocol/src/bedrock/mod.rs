//! The bedrock dialect (in progress).
