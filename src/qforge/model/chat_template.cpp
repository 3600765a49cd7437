#include "qforge/model/chat_template.h"

namespace qforge {

namespace {

bool Contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// A ChatML template may hard-code a system message for conversations without one, written as
// a string literal '<|im_start|>system\n...<|im_end|>'. Extract its text.
std::string ChatMlDefaultSystem(const std::string& jinja) {
  const std::string open = "<|im_start|>system\n";
  const size_t start = jinja.find(open);
  if (start == std::string::npos) return "";
  const size_t text = start + open.size();
  const size_t end = jinja.find("<|im_end|>", text);
  if (end == std::string::npos) return "";
  const std::string body = jinja.substr(text, end - text);
  // Only a literal: anything templated ({{ }}, quotes) means the system text is dynamic.
  if (Contains(body, "{") || Contains(body, "'") || Contains(body, "\"")) return "";
  return body;
}

}  // namespace

Expected<ChatTemplate> DetectChatTemplate(const std::string& t) {
  ChatTemplate tmpl;
  if (t == "chatml" || Contains(t, "<|im_start|>")) {
    tmpl.format = ChatFormat::kChatMl;
    if (t != "chatml") tmpl.default_system = ChatMlDefaultSystem(t);
  } else if (t == "llama3" || Contains(t, "<|start_header_id|>")) {
    tmpl.format = ChatFormat::kLlama3;
    tmpl.bos_in_template = Contains(t, "bos_token");
  } else if (t == "gemma" || Contains(t, "<start_of_turn>")) {
    tmpl.format = ChatFormat::kGemma;
    tmpl.bos_in_template = Contains(t, "bos_token");
  } else if (t == "llama2" || Contains(t, "[INST]")) {
    tmpl.format = ChatFormat::kLlama2;
  } else if (t.empty()) {
    return MakeError("the model has no chat template; pass --chat-template chatml|llama3|llama2|gemma");
  } else {
    return MakeError("unrecognised chat template; pass --chat-template chatml|llama3|llama2|gemma");
  }
  return tmpl;
}

std::string ApplyChatTemplate(const ChatTemplate& tmpl, const std::vector<ChatMessage>& messages,
                              bool add_assistant_prompt) {
  std::vector<ChatMessage> all = messages;
  if (!tmpl.default_system.empty() && (all.empty() || all.front().role != "system")) {
    all.insert(all.begin(), {"system", tmpl.default_system});
  }
  std::string out;
  switch (tmpl.format) {
    case ChatFormat::kChatMl:
      for (const auto& m : all) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_assistant_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kLlama3:
      for (const auto& m : all) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      }
      if (add_assistant_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::kGemma: {
      // Gemma has no system role: the system text is prepended to the first user turn.
      std::string pending_system;
      for (const auto& m : all) {
        if (m.role == "system") {
          pending_system += m.content + "\n\n";
          continue;
        }
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n" + pending_system + m.content + "<end_of_turn>\n";
        pending_system.clear();
      }
      if (add_assistant_prompt) out += "<start_of_turn>model\n";
      break;
    }
    case ChatFormat::kLlama2: {
      std::string system;
      for (const auto& m : all) {
        if (m.role == "system") {
          system = "<<SYS>>\n" + m.content + "\n<</SYS>>\n\n";
        } else if (m.role == "user") {
          out += "[INST] " + system + m.content + " [/INST]";
          system.clear();
        } else {
          out += " " + m.content + "</s>";
        }
      }
      break;
    }
  }
  return out;
}

}  // namespace qforge
