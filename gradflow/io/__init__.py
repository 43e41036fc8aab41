"""File plumbing, below everything else.

Safe reading of regular files, .npy/.npz arrays, array coercion and atomic writes.  What the
files mean (weights, networks, histories) is the business of the layers above.
"""
