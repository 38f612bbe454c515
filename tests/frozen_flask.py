"""`python -m tests.frozen_flask ARGS`: the flask CLI, at the test session's frozen instant when there is one.

REGISTRY_TEST_FREEZE freezes the pytest process only (tests/conftest.py); the real processes a test
starts read the same variable here, so that their "today" in Asia/Shanghai is the test's.
"""
import os
import sys

if __name__ == "__main__":
    moment = os.environ.get("REGISTRY_TEST_FREEZE")
    if moment:
        import time_machine
        time_machine.travel(moment, tick=True).start()
    from flask.cli import main
    sys.argv[0] = "flask"
    main()
