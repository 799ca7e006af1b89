"""Backend-agnostic attention layers and the feature maps of linear attention.

Example:
>>> from zoo.layers import LinearAttention, MultiHeadAttention  # doctest: +SKIP
"""

from zoo.layers.feature_maps import (
    CallableFeatureMap,
    ElementwiseFeatureMap,
    FavorFeatureMap,
    FeatureMap,
    TaylorFeatureMap,
    get_feature_map,
)
from zoo.layers.fused_lstm import FusedLSTM
from zoo.layers.linear_attention import LinearAttention
from zoo.layers.multi_head_attention import MultiHeadAttention
from zoo.layers.projected_attention import ProjectedAttention
from zoo.layers.seq2seq_attention import Seq2SeqAttention
from zoo.layers.token_and_position_embedding import TokenAndPositionEmbedding
from zoo.layers.transformer_decoder_block import TransformerDecoderBlock
from zoo.layers.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "CallableFeatureMap",
    "ElementwiseFeatureMap",
    "FavorFeatureMap",
    "FeatureMap",
    "FusedLSTM",
    "LinearAttention",
    "MultiHeadAttention",
    "ProjectedAttention",
    "Seq2SeqAttention",
    "TaylorFeatureMap",
    "TokenAndPositionEmbedding",
    "TransformerDecoderBlock",
    "TransformerEncoderBlock",
    "get_feature_map",
]
