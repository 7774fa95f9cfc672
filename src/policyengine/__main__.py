"""``python -m policyengine``."""

from .cli import main

main()
