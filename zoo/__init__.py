"""keras-zoo: attention and sequence models for every Keras 3 backend.

Importing `zoo` is cheap: it does not import Keras. Import the parts you use:

Example:
>>> from zoo.layers import MultiHeadAttention, LinearAttention  # doctest: +SKIP
"""

__version__ = "0.1.0"
