#pragma once
// mq.use_ssl_ca / mq.use_ssl_cert / mq.use_ssl_key hold either a file path or, as pycti allows, the PEM
// text itself (a Kubernetes secret mounted as an environment variable). rabbitmq-c reads files only.
#include <string>
#include <string_view>

namespace kfc {

// PEM text rather than a path: starts with "-----BEGIN" (pycti's rule), leading blanks allowed.
bool is_pem_text(std::string_view value);

// The path of a file holding `path_or_pem`: the value itself when it is a path (or empty); for PEM
// text, a private (mode 0600) temporary file written once per distinct text and removed when the
// process exits. Throws std::runtime_error naming `key` (never the text) when it cannot be written.
std::string pem_file_path(const std::string& path_or_pem, std::string_view key);

}  // namespace kfc
