//! ferrozmq
