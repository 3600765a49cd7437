// Chat formatting for instruct models. GGUF files carry a Jinja template; rather than embed a
// Jinja interpreter we recognise the template families in use (by their marker tokens) and
// format them natively, as llama.cpp does for its built-in templates. A template we do not
// recognise is an error, not a silent guess.
#pragma once

#include <string>
#include <vector>

#include "qforge/core/status.h"

namespace qforge {

enum class ChatFormat { kChatMl, kLlama3, kLlama2, kGemma };

struct ChatMessage {
  std::string role;     // system, user, assistant
  std::string content;
};

struct ChatTemplate {
  ChatFormat format = ChatFormat::kChatMl;
  std::string default_system;  // inserted when the conversation has no system message
  bool bos_in_template = false;  // the template writes the BOS token itself
};

// Detects the family from the model's Jinja template, or from an explicit name
// ("chatml", "llama3", "llama2", "gemma").
Expected<ChatTemplate> DetectChatTemplate(const std::string& jinja_or_name);

// Renders messages and, when `add_assistant_prompt`, the header that starts the reply.
std::string ApplyChatTemplate(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                              bool add_assistant_prompt);

}  // namespace qforge
