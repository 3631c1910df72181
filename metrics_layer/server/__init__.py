"""The metrics service: HTTP API, catalogue page, access policies and result cache
(``pip install "kpi-layer[server]"``; docs/service.md). Nothing here is imported by
``import metrics_layer``."""
