"""What untrusted and trusted SQL may contain, checked at two points.

``allowlist`` names every node kind, type and function that a filter (untrusted: from a
dashboard) and a definition (trusted but unreviewed: from a pull request) may hold; ``trees``
checks a parsed fragment against those lists; ``statement`` checks the final SQL text once more,
parsed back in the target dialect, before an engine sees it. docs/security.md describes the
layers and the threat model.
"""
