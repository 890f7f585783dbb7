"""Alert adapters: the receiver shared by `warroom ingest` and `warroom serve`."""
