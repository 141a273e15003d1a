"""``python -m sandbox --host 127.0.0.1 --port 8081 [--rate-limit 30]``"""

from .server import main

main()
