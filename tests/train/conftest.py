import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    # Tiny nets gain nothing from a second thread, and while another process
    # keeps the cores busy, OpenMP threads waiting on each other make every
    # op up to ~100x slower.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
