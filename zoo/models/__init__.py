"""Models of the zoo, built from `zoo.layers` and `keras.layers`."""
