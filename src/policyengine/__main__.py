"""``python -m policyengine``."""

from policyengine.cli.main import main

main()
