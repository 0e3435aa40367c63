#pragma once

#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

/// The bytes both HTTP listeners write, without a socket: response heads
/// with Beast's reason phrases, whole responses, chunks, and Server-Sent
/// Events. Answers go out as prepared strings so that a connection sends
/// everything it has queued in one gathered write.
namespace mcpvisor::transports::wire {

using header = std::pair<std::string_view, std::string_view>;

/// A whole response with a Content-Length (and Retry-After on 503). An
/// empty `content_type` sends none (for an empty body).
std::string response(int status, std::string_view content_type,
                     std::string_view body, bool keep_alive,
                     std::initializer_list<header> headers = {});

/// The head of a chunked `text/event-stream` response.
std::string event_stream_head(bool keep_alive);

/// `payload` as one chunk.
std::string chunk(std::string_view payload);

/// One SSE event carrying a JSON-RPC message, as a chunk: an `id` line
/// (if any), `event: message` and the data.
std::string event_chunk(std::string_view id, std::string_view data);

/// An SSE event named `name` with `data`, as a chunk (the `endpoint` event
/// of the 2024-11-05 HTTP+SSE transport).
std::string named_event_chunk(std::string_view name, std::string_view data);

/// The priming event of a 2025-11-25 stream (an id, the retry time, empty
/// data), as a chunk.
std::string prime_chunk(std::string_view id, int retry_ms);

/// An SSE comment that keeps idle intermediaries from closing the stream,
/// as a chunk.
std::string keepalive_chunk();

/// The chunk that ends a chunked response.
constexpr std::string_view last_chunk = "0\r\n\r\n";

} // namespace mcpvisor::transports::wire
