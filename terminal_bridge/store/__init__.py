"""The store-side bridge process (``loyalty bridge serve``)."""
