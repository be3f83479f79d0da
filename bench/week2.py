"""The PyTorch side of week 2's benchmarks (ids as in grader/src/suites/week2/gpt2.rs).

transformers' GPT2LMHeadModel with random weights, eager attention, on the CPU: forward (logits)
and loss + backward for 128-token sequences, tiny (the fixtures' shape, 128 positions) and
GPT-2-small-shaped.
"""
import torch
from transformers import GPT2Config, GPT2LMHeadModel


def _model(small):
    if small:
        cfg = GPT2Config()
    else:
        cfg = GPT2Config(vocab_size=1000, n_positions=128, n_embd=64, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)
    cfg._attn_implementation = "eager"
    return GPT2LMHeadModel(cfg).eval(), cfg


def _ids(cfg, batch):
    return (torch.arange(batch * 128) * 7919 % cfg.vocab_size).reshape(batch, 128)


def forward(small, batch):
    def setup():
        model, cfg = _model(small)
        ids = _ids(cfg, batch)

        def run():
            with torch.no_grad():
                model(ids).logits
        return run
    return setup


def backward(small, batch):
    def setup():
        model, cfg = _model(small)
        model.train()
        for m in model.modules():  # no dropout: the same work as the candle side
            if isinstance(m, torch.nn.Dropout):
                m.p = 0.0
        ids = _ids(cfg, batch)

        def run():
            model.zero_grad(set_to_none=True)
            model(ids, labels=ids).loss.backward()
        return run
    return setup


BENCHES = {
    "week2.gpt2.tiny_forward_b1": forward(False, 1),
    "week2.gpt2.tiny_forward_b8": forward(False, 8),
    "week2.gpt2.tiny_backward_b8": backward(False, 8),
    "week2.gpt2.small_forward_b1": forward(True, 1),
    "week2.gpt2.small_forward_b8": forward(True, 8),
    "week2.gpt2.small_backward_b1": backward(True, 1),
}
