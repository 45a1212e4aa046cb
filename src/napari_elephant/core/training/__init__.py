"""The trainer's plumbing: device choice, checkpoints, progress records and stop flags.

Kept free of imports so that importing one submodule stays cheap.
"""
