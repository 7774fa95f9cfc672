"""clocks layer."""
