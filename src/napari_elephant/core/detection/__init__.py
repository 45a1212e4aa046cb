"""Nucleus detection: the U-Net, labels, losses, training, tiled prediction, ellipsoids.

Kept free of imports so that importing one submodule (say the label renderer)
does not pull in torch and the whole engine.
"""
