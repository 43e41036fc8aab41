"""Files in and out: weights (.npz), inputs and states (.npy), atomic writes."""
