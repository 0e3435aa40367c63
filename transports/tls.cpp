#include "transports/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include "actors/log.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace mcpvisor::transports {

namespace {

namespace ssl = boost::asio::ssl;

/// ALPN: the one protocol spoken here.
int select_http11(SSL*, const unsigned char** out, unsigned char* outlen,
                  const unsigned char* in, unsigned int inlen, void*) {
  static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, http11, sizeof(http11), in, inlen)
      != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL; // a client that offers only others
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

std::string openssl_error(const std::string& what) {
  char buf[256] = "unknown error";
  if (auto code = ERR_get_error())
    ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return what + ": " + buf;
}

} // namespace

std::optional<std::string> tls_context::load(const tls_files& files) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  auto* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION
                                | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305 only; TLS 1.3's
  // suites are all AEAD and kept as OpenSSL orders them
  if (SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
    return openssl_error("the cipher list");
  if (SSL_CTX_use_certificate_chain_file(native, files.cert.c_str()) != 1)
    return openssl_error("the certificate " + files.cert);
  if (SSL_CTX_use_PrivateKey_file(native, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return openssl_error("the key " + files.key);
  if (SSL_CTX_check_private_key(native) != 1)
    return openssl_error("the key does not match the certificate");
  if (!files.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(native, files.client_ca.c_str(), nullptr) != 1)
      return openssl_error("the client CA " + files.client_ca);
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_alpn_select_cb(native, select_http11, nullptr);
  std::lock_guard<std::mutex> guard{mtx_};
  files_ = files;
  ctx_ = std::move(ctx);
  return std::nullopt;
}

std::optional<std::string> tls_context::reload() {
  tls_files files;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    files = files_;
  }
  return load(files);
}

std::shared_ptr<ssl::context> tls_context::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return ctx_;
}

server_stream make_server_stream(boost::asio::ip::tcp::socket socket, ssl::context* tls) {
  if (tls == nullptr)
    return boost::beast::tcp_stream{std::move(socket)};
  return tls_stream{std::move(socket), *tls};
}

boost::beast::tcp_stream& tcp_layer(server_stream& s) noexcept {
  return std::visit(
    [](auto& x) -> boost::beast::tcp_stream& { return boost::beast::get_lowest_layer(x); }, s);
}

void start_tls(tls_stream& stream, boost::beast::flat_buffer& buffer,
               std::chrono::seconds timeout, std::function<void(tls_start)> done) {
  auto& lowest = boost::beast::get_lowest_layer(stream);
  lowest.expires_after(timeout);
  lowest.async_read_some(
    buffer.prepare(4096),
    [&stream, &buffer, done = std::move(done)](boost::beast::error_code ec, size_t n) mutable {
      if (ec) {
        done(tls_start::failed);
        return;
      }
      buffer.commit(n);
      if (*static_cast<const unsigned char*>(buffer.data().data()) != 0x16) {
        done(tls_start::plain_http);
        return;
      }
      stream.async_handshake(ssl::stream_base::server, buffer.data(),
                             [&buffer, done = std::move(done)](boost::beast::error_code ec,
                                                               size_t used) {
                               if (ec) {
                                 log::write(log::level::debug, "TLS handshake failed",
                                            {{"reason", ec.message()}});
                                 done(tls_start::failed);
                                 return;
                               }
                               buffer.consume(used);
                               done(tls_start::ok);
                             });
    });
}

} // namespace mcpvisor::transports
