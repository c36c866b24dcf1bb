"""pay-exact-sandbox command line (filled in with the Pay. and Exact parts)."""


def main() -> None:
    raise SystemExit("the sandbox command is not available yet")
