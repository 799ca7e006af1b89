"""Data loaders: files and embedded data -> normalized arrays (+ scalers)."""
