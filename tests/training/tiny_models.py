"""Tiny models for the training tests: BERT / ModernBERT from configs, a tokenizer trained here.

``save_tiny_model(path, arch)`` saves a random-weight base model plus its tokenizer to a directory that
``from_pretrained`` reads offline, like any hub model. ``toy_task()`` is a 4-class task that a
tiny model learns in a few dozen steps: each class has its own keywords among shared noise.
"""

from __future__ import annotations

import random

CLASSES = ["billing", "delivery", "login", "refund"]
KEYWORDS = {
    "billing": ["invoice", "charge", "bill", "fee"],
    "delivery": ["parcel", "courier", "shipping", "late"],
    "login": ["password", "account", "locked", "signin"],
    "refund": ["refund", "return", "money", "back"],
}
NOISE = [
    "the",
    "a",
    "my",
    "i",
    "please",
    "help",
    "with",
    "it",
    "is",
    "was",
    "not",
    "and",
    "to",
    "of",
    "for",
    "on",
    "this",
    "that",
]


def toy_task(n: int = 160, seed: int = 0, counts: dict | None = None):
    """``(texts, labels)``: keyword sentences of varying length; ``counts`` sets per-class sizes."""
    rng = random.Random(seed)
    if counts is None:
        counts = {c: n // len(CLASSES) for c in CLASSES}
    texts, labels = [], []
    for label, k in counts.items():
        for _ in range(k):
            words = [rng.choice(NOISE) for _ in range(rng.randint(2, 14))]
            for _ in range(rng.randint(1, 2)):
                words.insert(rng.randint(0, len(words)), rng.choice(KEYWORDS[label]))
            texts.append(" ".join(words))
            labels.append(label)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


def make_tokenizer():
    """A word-level fast tokenizer over the toy vocabulary, with BERT's special tokens."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    trainer = trainers.WordLevelTrainer(special_tokens=specials)
    corpus = NOISE + [w for ws in KEYWORDS.values() for w in ws] + ["unknown", "words"]
    tok.train_from_iterator([" ".join(corpus)] * 2, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def tiny_config(arch: str, vocab_size: int):
    """A 2-layer, 32-wide config of ``bert`` or ``modernbert``."""
    from transformers import BertConfig, ModernBertConfig

    if arch == "bert":
        return BertConfig(
            vocab_size=vocab_size,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
            pad_token_id=0,
        )
    return ModernBertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
        bos_token_id=2,
        eos_token_id=3,
        cls_token_id=2,
        sep_token_id=3,
        global_attn_every_n_layers=2,
        local_attention=16,
    )


def save_tiny_model(path, arch: str = "bert"):
    """Write a random tiny base model and its tokenizer to ``path``; return ``path``."""
    import torch
    from transformers import AutoModel

    tok = make_tokenizer()
    torch.manual_seed(0)
    model = AutoModel.from_config(tiny_config(arch, len(tok)))
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


def bag_model(vocab_size: int, num_classes: int, dim: int = 16, seed: int = 0):
    """A mean-of-embeddings classifier with dropout: the loop's mechanics in milliseconds."""
    import torch
    from torch import nn

    class Bag(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab_size, dim)
            self.dropout = nn.Dropout(0.1)
            self.classifier = nn.Linear(dim, num_classes)

        def forward(self, input_ids, attention_mask):
            mask = attention_mask.unsqueeze(-1).float()
            pooled = (self.embed(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1)
            return self.classifier(self.dropout(pooled))

    torch.manual_seed(seed)
    return Bag()


def toy_items(n: int = 160, seed: int = 0, counts: dict | None = None):
    """Token-id items of the toy task (``{"input_ids", "labels"}``) and the tokenizer."""
    tok = make_tokenizer()
    texts, labels = toy_task(n, seed, counts)
    ids = tok(texts, truncation=True, max_length=32)["input_ids"]
    return [
        {"input_ids": i, "labels": CLASSES.index(lab)} for i, lab in zip(ids, labels, strict=True)
    ], tok
