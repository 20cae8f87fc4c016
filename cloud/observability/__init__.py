"""Observability: Prometheus metrics (``metrics``: what is counted, ``scrape``: the
``/metrics`` endpoint), the channel and route a request is counted under (``channels``)
and request ids carried into every log line (``request_ids``)."""
