"""Exact k-nearest-neighbour digit recognition on MNIST, in TensorFlow 2."""
