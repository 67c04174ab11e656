#pragma once
// TLS of a RabbitMQ connection (mq.use_ssl and mq.use_ssl_*), shared by the publishing sink and the
// enrichment connector's listen queue. The CA, the client certificate and its key are each a file
// path or, as pycti allows, the PEM text itself; both are loaded into the socket's OpenSSL context
// from memory, so a private key given as text never touches the disk. Without mq.use_ssl_ca the
// system's trust store is used (as pycti's default SSL context does). A failed verification is an
// error naming the option to fix — there is never a fallback to plaintext.
#include <amqp.h>

#include <stdexcept>
#include <string>

#include "kfc/opencti/client.h"

namespace kfc::sinks {

// The TLS material cannot be used (unreadable file, malformed PEM, wrong passphrase, key not
// matching the certificate). The text names the option, never PEM content.
class AmqpTlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Configures a socket made by amqp_ssl_socket_new for `mq`. Throws AmqpTlsError.
void configure_amqp_tls(amqp_socket_t* socket, const opencti::MqConnection& mq);

// After amqp_socket_open* failed with `status` on this thread: why, when the broker's certificate
// was not trusted (chain or host name) — worded with the options to check; empty otherwise.
// Retrying cannot cure such a failure.
std::string amqp_tls_verification_failure(int status, const opencti::MqConnection& mq);

// Logs once per host:port when RabbitMQ is reached without TLS over a network (not loopback).
void warn_if_amqp_plaintext(const opencti::MqConnection& mq);

}  // namespace kfc::sinks
