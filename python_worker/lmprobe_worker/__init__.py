"""lmprobe-ts Python worker: transformers extraction and scikit-learn fitting over ZeroMQ."""
