"""PyTorch side of week 1's benchmarks (see checks/week1/src/week1/bench.rs): same ids, same shapes."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def conv2d():
    x, w = torch.randn(8, 64, 56, 56), torch.randn(64, 64, 3, 3)
    return lambda: F.conv2d(x, w, padding=1)


def conv2d_im2col():
    """The reference's day-convolutions conv2d, op for op: zero padding, the row windows and
    then the column windows gathered with index_select, the permute to [b, oh·ow, c·kh·kw],
    one matmul with the flattened kernel, back to [b, o, oh, ow]. The exercise prescribes this
    method, so the row compares it with the same method in PyTorch; F.conv2d is the
    comparison of the conv2d.candle and conv2d.fastops rows."""
    x, w = torch.randn(8, 64, 56, 56), torch.randn(64, 64, 3, 3)
    o, c, kh, kw = w.shape

    def run():
        xp = F.pad(x, (1, 1, 1, 1))
        b, _, h, wd = xp.shape
        oh, ow = h - kh + 1, wd - kw + 1
        rows = (torch.arange(oh)[:, None] + torch.arange(kh)[None]).flatten()
        cols = (torch.arange(ow)[:, None] + torch.arange(kw)[None]).flatten()
        win = xp.index_select(2, rows).reshape(b, c, oh, kh, wd)
        win = win.index_select(4, cols).reshape(b, c, oh, kh, ow, kw)
        win = win.permute(0, 2, 4, 1, 3, 5).reshape(b, oh * ow, c * kh * kw)
        return (win @ w.reshape(o, c * kh * kw).t()).transpose(1, 2).reshape(b, o, oh, ow)

    return run


def conv2d_backward():
    x = torch.randn(8, 64, 56, 56, requires_grad=True)
    w = torch.randn(64, 64, 3, 3, requires_grad=True)
    up = torch.randn(8, 64, 56, 56)

    def run():
        x.grad = w.grad = None
        (F.conv2d(x, w, padding=1) * up).sum().backward()

    return run


def resnet_forward(batch):
    def setup():
        model = torchvision.models.resnet18().eval()
        x = torch.randn(batch, 3, 224, 224)

        def run():
            with torch.no_grad():
                model(x)

        return run

    return setup


def cnn_step():
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = torch.rand(256, 784), torch.arange(256) % 10
    g = torch.Generator().manual_seed(0)

    def run():
        idx = torch.randint(0, 256, (32,), generator=g)
        loss = F.cross_entropy(model(images[idx].reshape(32, 1, 28, 28)), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()

    return run


BENCHES = {
    "week1.conv2d.im2col": conv2d_im2col,
    "week1.conv2d.candle": conv2d,
    "week1.conv2d.fastops": conv2d,
    "week1.conv2d.backward_candle": conv2d_backward,
    "week1.conv2d.backward_fastops": conv2d_backward,
    "week1.resnet18.forward_b1": resnet_forward(1),
    "week1.resnet18.forward_b8": resnet_forward(8),
    "week1.cnn.train_step": cnn_step,
}
