"""The PyTorch side of week 2's benchmarks (ids as in checks/week2/src/week2/gpt2.rs and sampling.rs).

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


def generate(new, cached):
    """Greedy generation of `new` tokens after an 8-token prompt (the ids of the Rust side's
    prompt_ids(8)) with transformers' generate, with or without its KV cache; min_new_tokens keeps
    a random model's end-of-text from stopping early."""
    def setup():
        model, cfg = _model(True)
        ids = ((torch.arange(8) * 7919 + 13) % cfg.vocab_size).unsqueeze(0)

        def run():
            with torch.no_grad():
                model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=new,
                               min_new_tokens=new, use_cache=cached, pad_token_id=0)
        return run
    return setup


# Timed once, and only when a filter names them (minutes a run; see run_torch.py).
SLOW = {"week2.kv.cached_256", "week2.kv.uncached_256"}

BENCHES = {
    "week2.kv.cached": generate(32, True),
    "week2.kv.uncached": generate(32, False),
    "week2.kv.cached_256": generate(256, True),
    "week2.kv.uncached_256": generate(256, False),
    "week2.gpt2.tiny_forward_b1": forward(False, 1),
    "week2.gpt2.tiny_forward_b8": forward(False, 8),
    "week2.gpt2.tiny_backward_b8": backward(False, 8),
    "week2.gpt2.small_forward_b1": forward(True, 1),
    "week2.gpt2.small_forward_b8": forward(True, 8),
    "week2.gpt2.small_backward_b1": backward(True, 1),
}
