"""The flow model: backward displacements between consecutive timepoints.

A second U-Net (residual encoder, LeakyReLU, tanh output) maps the pair
(I_{t-1}, I_t) to a voxel-wise 3D displacement; linking uses it to estimate
where each nucleus of t was at t-1.  Kept free of imports so that importing
one submodule (say the label renderer) does not pull in torch.
"""
