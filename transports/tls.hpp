#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/asio/ssl/stream.hpp>

/// TLS for the MCP and admin listeners (OpenSSL through Asio): TLS 1.2 and
/// 1.3 only, forward-secret AEAD ciphers, ALPN `http/1.1`, and optionally
/// client certificates from a CA of the operator's. The certificate and key
/// are reloaded in place (SIGHUP): handshakes after the reload use the new
/// pair, connections already open keep theirs.
namespace mcpvisor::transports {

struct tls_files {
  /// PEM: the certificate (a chain is allowed, leaf first) and its key.
  std::string cert;
  std::string key;
  /// PEM: when set, clients must present a certificate signed by this CA.
  std::string client_ca;

  bool enabled() const noexcept {
    return !cert.empty();
  }
};

class tls_context {
public:
  /// Loads `files`; an error text if they cannot be used (the context in
  /// use stays as it was).
  std::optional<std::string> load(const tls_files& files);

  /// Loads the same files again (SIGHUP).
  std::optional<std::string> reload();

  /// The context new handshakes use.
  std::shared_ptr<boost::asio::ssl::context> current() const;

private:
  mutable std::mutex mtx_;
  tls_files files_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

/// A server connection's stream: plain TCP, or TLS over it.
using tls_stream = boost::asio::ssl::stream<boost::beast::tcp_stream>;
using server_stream = std::variant<boost::beast::tcp_stream, tls_stream>;

/// The stream for an accepted socket: TLS with `tls`, else plain.
server_stream make_server_stream(boost::asio::ip::tcp::socket socket,
                                 boost::asio::ssl::context* tls);

/// The TCP layer under either kind of stream.
boost::beast::tcp_stream& tcp_layer(server_stream& s) noexcept;

enum class tls_start {
  ok,
  /// The client spoke plain HTTP to the TLS port: answer it in plain text.
  plain_http,
  /// Silent past the timeout, gone, or the handshake failed.
  failed,
};

/// Starts the server side of a TLS connection: reads the first bytes into
/// `buffer` (a TLS client starts with a handshake record), then
/// handshakes; `done` is called once, on the stream's executor, and keeps
/// the caller alive. On `ok`, `buffer` holds what the client sent after its
/// handshake.
void start_tls(tls_stream& stream, boost::beast::flat_buffer& buffer,
               std::chrono::seconds timeout, std::function<void(tls_start)> done);

} // namespace mcpvisor::transports
