#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/json.hpp"

/// What handlers return: content blocks, tool results, resource contents and
/// prompt messages. Each block is kept as its encoded JSON object, written
/// once when the handler builds it.
namespace mcpvisor::protocol {

/// Optional annotations on content and resources.
struct content_annotations {
  /// "user" and/or "assistant".
  std::vector<std::string> audience;
  std::optional<double> priority;
  /// ISO 8601 timestamp.
  std::string last_modified;

  bool empty() const noexcept {
    return audience.empty() && !priority && last_modified.empty();
  }
};

/// Writes `"annotations":{...}` into an object being written (nothing when
/// `a` is empty).
void write_annotations(json_writer& w, const content_annotations& a);

/// An icon for tools, resources, prompts and the server.
struct icon {
  std::string src;
  std::string mime_type;
  std::vector<std::string> sizes;
  /// "light" or "dark", or empty.
  std::string theme;
};

/// A content block (TextContent, ImageContent, AudioContent, ResourceLink,
/// EmbeddedResource).
class content_block {
public:
  static content_block text(std::string_view text, const content_annotations& a = {});
  /// `base64` is the encoded image data.
  static content_block image(std::string_view base64, std::string_view mime_type,
                       const content_annotations& a = {});
  static content_block audio(std::string_view base64, std::string_view mime_type,
                       const content_annotations& a = {});
  static content_block resource_link(std::string_view uri, std::string_view name,
                               std::string_view mime_type = {},
                               std::string_view description = {});
  static content_block embedded_text(std::string_view uri,
                               std::string_view mime_type,
                               std::string_view text,
                               const content_annotations& a = {});
  static content_block embedded_blob(std::string_view uri,
                               std::string_view mime_type,
                               std::string_view base64,
                               const content_annotations& a = {});

  /// A block another server encoded (an upstream's result), kept as it is.
  static content_block from_json(std::string json) {
    return content_block{std::move(json)};
  }

  /// The encoded JSON object.
  const std::string& json() const noexcept {
    return json_;
  }

private:
  explicit content_block(std::string json) : json_(std::move(json)) {
    // nop
  }

  std::string json_;
};

/// Set on a result by `call_context::input_required()`: the handler needs
/// answers from the client before it can finish.
struct input_required_t {};

/// Returned by a handler that ends its round later, from another thread
/// (`call_context::defer`).
struct answer_later_t {};

/// The result of a tool call.
struct tool_result {
  std::vector<content_block> content;
  /// Encoded JSON of structuredContent, or empty.
  std::string structured;
  /// A tool-level failure the model should see (isError: true).
  bool is_error = false;
  /// Set when the handler asked for input it does not have yet.
  bool needs_input = false;
  /// Set when the round ends later (`call_context::defer`).
  bool deferred = false;

  tool_result() = default;
  tool_result(input_required_t) : needs_input(true) {
    // nop
  }
  tool_result(answer_later_t) : deferred(true) {
    // nop
  }

  /// One text block.
  static tool_result text(std::string_view text);
  /// One text block with isError: true.
  static tool_result error(std::string_view text);
};

/// One item of resources/read contents.
class resource_contents {
public:
  static resource_contents text(std::string_view uri,
                                std::string_view mime_type,
                                std::string_view text);
  static resource_contents blob(std::string_view uri,
                                std::string_view mime_type,
                                std::string_view base64);
  /// Contents another server encoded, kept as they are.
  static resource_contents from_json(std::string json) {
    return resource_contents{std::move(json)};
  }

  const std::string& json() const noexcept {
    return json_;
  }

private:
  explicit resource_contents(std::string json) : json_(std::move(json)) {
    // nop
  }

  std::string json_;
};

/// Cache hints for 2026-07-28 results.
struct cache_hint {
  uint64_t ttl_ms = 0;
  /// true: "public", false: "private".
  bool shared = false;
};

/// The result of resources/read.
struct read_result {
  std::vector<resource_contents> contents;
  /// Overrides the resource's default cache hint when set.
  std::optional<cache_hint> cache;
  bool needs_input = false;
  bool deferred = false;
  /// The resource does not exist (answered as "resource not found").
  bool not_found = false;

  read_result() = default;
  read_result(input_required_t) : needs_input(true) {
    // nop
  }
  read_result(answer_later_t) : deferred(true) {
    // nop
  }

  static read_result missing() {
    read_result r;
    r.not_found = true;
    return r;
  }
};

/// A message of a prompt.
struct prompt_message {
  /// "user" or "assistant".
  std::string role;
  content_block content;
};

/// The result of prompts/get.
struct prompt_result {
  std::string description;
  std::vector<prompt_message> messages;
  bool needs_input = false;
  bool deferred = false;

  prompt_result() = default;
  prompt_result(input_required_t) : needs_input(true) {
    // nop
  }
  prompt_result(answer_later_t) : deferred(true) {
    // nop
  }
};

} // namespace mcpvisor::protocol
