#pragma once
// mq.use_ssl_ca / mq.use_ssl_cert / mq.use_ssl_key hold either a file path or, as pycti allows, the PEM
// text itself (a Kubernetes secret mounted as an environment variable). The text is loaded from
// memory when connecting (connector/sinks amqp_tls.h): a private key given as text never touches the disk.
#include <string_view>

namespace kfc {

// PEM text rather than a path: starts with "-----BEGIN" (pycti's rule), leading blanks allowed.
bool is_pem_text(std::string_view value);

}  // namespace kfc
