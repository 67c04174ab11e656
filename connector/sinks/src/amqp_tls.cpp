#include "kfc/sinks/amqp_tls.h"

#include <amqp_ssl_socket.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <set>

#include "kfc/config/pem.h"
#include "kfc/config/values.h"

namespace kfc::sinks {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Why the broker's certificate failed verification in the last handshake of this thread (OpenSSL
// calls the verify callback on the thread doing the handshake).
thread_local std::string last_verify_failure;

int record_verify_result(int preverified, X509_STORE_CTX* context) {
  if (!preverified && last_verify_failure.empty()) {
    last_verify_failure = X509_verify_cert_error_string(X509_STORE_CTX_get_error(context));
  }
  return preverified;  // rabbitmq-c itself decides (mq.use_ssl_reject_unauthorized)
}

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  return reason ? reason : "unknown OpenSSL error";
}

// "the file /path" or "the PEM text" — never the text itself.
std::string what_was_given(const std::string& value) {
  return is_pem_text(value) ? "the PEM text" : "the file " + value;
}

// A BIO over the value: the PEM text in memory, or the file it names.
BioPtr open_pem(const std::string& value, const char* key) {
  BioPtr bio(is_pem_text(value) ? BIO_new_mem_buf(value.data(), static_cast<int>(value.size()))
                                : BIO_new_file(value.c_str(), "r"));
  if (!bio) {
    throw AmqpTlsError(std::string("cannot read ") + what_was_given(value) + " of " + key + ": " + std::strerror(errno) +
                       " — give the path of a PEM file or the PEM text itself");
  }
  return bio;
}

void load_trusted_cas(SSL_CTX* context, const std::string& ca) {
  if (ca.empty()) {
    SSL_CTX_set_default_verify_paths(context);  // the system's trust store
    return;
  }
  BioPtr bio = open_pem(ca, "mq.use_ssl_ca");
  STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio.get(), nullptr, nullptr, nullptr);
  int added = 0;
  if (infos) {
    X509_STORE* store = SSL_CTX_get_cert_store(context);
    for (int i = 0; i < sk_X509_INFO_num(infos); ++i) {
      X509_INFO* info = sk_X509_INFO_value(infos, i);
      if (info->x509 && X509_STORE_add_cert(store, info->x509) == 1) ++added;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
  }
  ERR_clear_error();
  if (added == 0) {
    throw AmqpTlsError("mq.use_ssl_ca (" + what_was_given(ca) + ") holds no PEM certificate — check mq.use_ssl_ca (MQ_USE_SSL_CA)");
  }
}

void load_client_certificate(SSL_CTX* context, const std::string& cert) {
  BioPtr bio = open_pem(cert, "mq.use_ssl_cert");
  X509* leaf = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!leaf || SSL_CTX_use_certificate(context, leaf) != 1) {
    X509_free(leaf);
    throw AmqpTlsError("mq.use_ssl_cert (" + what_was_given(cert) + ") is not a usable PEM certificate: " +
                       openssl_reason() + " — check mq.use_ssl_cert (MQ_USE_SSL_CERT)");
  }
  X509_free(leaf);
  // Intermediate certificates after the first one go with it.
  while (X509* intermediate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    SSL_CTX_add0_chain_cert(context, intermediate);
  }
  ERR_clear_error();
}

// Gives OpenSSL the passphrase (never prompts on a terminal: an encrypted key without one fails).
int passphrase_callback(char* buffer, int size, int, void* user) {
  const auto* passphrase = static_cast<const std::string*>(user);
  if (!passphrase || passphrase->empty() || static_cast<int>(passphrase->size()) > size) return -1;
  std::memcpy(buffer, passphrase->data(), passphrase->size());
  return static_cast<int>(passphrase->size());
}

void load_client_key(SSL_CTX* context, const std::string& key, const Secret& passphrase) {
  BioPtr bio = open_pem(key, "mq.use_ssl_key");
  const std::string revealed = passphrase.reveal();
  EVP_PKEY* private_key = PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback,
                                                  const_cast<std::string*>(&revealed));
  if (!private_key) {
    throw AmqpTlsError("mq.use_ssl_key (" + std::string(is_pem_text(key) ? "the PEM text" : "the file " + key) +
                       ") cannot be read as a private key: " + openssl_reason() +
                       " — check mq.use_ssl_key (MQ_USE_SSL_KEY) and, for an encrypted key, mq.use_ssl_passphrase");
  }
  const bool used = SSL_CTX_use_PrivateKey(context, private_key) == 1 && SSL_CTX_check_private_key(context) == 1;
  EVP_PKEY_free(private_key);
  if (!used) {
    throw AmqpTlsError("mq.use_ssl_key does not match the certificate of mq.use_ssl_cert: " + openssl_reason() +
                       " — give the key that belongs to the client certificate");
  }
}

std::string endpoint(const opencti::MqConnection& mq) { return mq.host + ":" + std::to_string(mq.port); }

}  // namespace

void configure_amqp_tls(amqp_socket_t* socket, const opencti::MqConnection& mq) {
  auto* context = static_cast<SSL_CTX*>(amqp_ssl_socket_get_context(socket));
  if (context == nullptr) throw AmqpTlsError("cannot set up TLS for RabbitMQ at " + endpoint(mq));
  ERR_clear_error();
  load_trusted_cas(context, mq.ssl_ca);
  if (!mq.ssl_cert.empty() && !mq.ssl_key.empty()) {
    load_client_certificate(context, mq.ssl_cert);
    load_client_key(context, mq.ssl_key, mq.ssl_passphrase);
  }
  SSL_CTX_set_verify(context, SSL_VERIFY_NONE, record_verify_result);  // rabbitmq-c checks the result itself
  amqp_ssl_socket_set_verify_peer(socket, mq.ssl_reject_unauthorized ? 1 : 0);
  amqp_ssl_socket_set_verify_hostname(socket, mq.ssl_reject_unauthorized ? 1 : 0);
  last_verify_failure.clear();
}

std::string amqp_tls_verification_failure(int status, const opencti::MqConnection& mq) {
  const std::string where = "the certificate of RabbitMQ at amqps://" + endpoint(mq);
  const std::string never = "; the connector never falls back to plaintext";
  if (status == AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED) {
    return where + " does not name the host " + mq.host +
           " — connect by a name the certificate carries (mq.host, MQ_HOST) or have the broker's certificate "
           "reissued" + never;
  }
  if (status == AMQP_STATUS_SSL_PEER_VERIFY_FAILED ||
      (status == AMQP_STATUS_SSL_CONNECTION_FAILED && !last_verify_failure.empty())) {
    const std::string reason = last_verify_failure.empty() ? "verification failed" : last_verify_failure;
    return where + " is not trusted (" + reason + ") — set mq.use_ssl_ca (MQ_USE_SSL_CA) to the CA that signed it" +
           (mq.ssl_ca.empty() ? "" : " (the one given does not)") + never;
  }
  return {};
}

void warn_if_amqp_plaintext(const opencti::MqConnection& mq) {
  if (mq.use_ssl || is_loopback_host(mq.host)) return;
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard lock(mutex);
  if (!warned.insert(endpoint(mq)).second) return;
  spdlog::warn("RabbitMQ at {} is used without TLS: messages and the broker password cross the network in clear "
               "text — set mq.use_ssl (MQ_USE_SSL) with the broker's TLS port",
               endpoint(mq));
}

}  // namespace kfc::sinks
