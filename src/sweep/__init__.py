"""The setup sweep: a grid of config setups, each judged by the replay of the weekly job over the
same weeks (SPEC §18)."""
