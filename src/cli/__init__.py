"""What the CLIs in scripts/ share: exits.py (exit codes, the error edge, alerts), options.py
(common options and what they resolve to), commands.py (the commands themselves)."""
