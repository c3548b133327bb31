import RLModel
import Testing

/// Other models' chat templates (in the layout their tokenizer_config.json files use), each with the
/// text transformers 5.24.0 `apply_chat_template(..., tokenize=False)` rendered for the same messages
/// (bos_token "<s>", eos_token "</s>").
@Suite("Chat templates of other model families")
struct ChatTemplateModelFamilyTests {
    static let qwen25Template = #"""
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
"""#

    @Test("Qwen2.5-Instruct (ChatML with a tools branch)")
    func qwen25() throws {
        let rendered = try ChatTemplate(Self.qwen25Template).render(
            messages: [ChatMessage(role: "user", content: "What is 2+2?")],
            addGenerationPrompt: true, variables: ["bos_token": "<s>", "eos_token": "</s>"])
        #expect(rendered == "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n")
    }

    static let llama3Template = #"""
{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>

'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>

' }}{% endif %}
"""#

    @Test("Llama 3")
    func llama3() throws {
        let rendered = try ChatTemplate(Self.llama3Template).render(
            messages: [ChatMessage(role: "system", content: "Be brief. "), ChatMessage(role: "user", content: " Hi ")],
            addGenerationPrompt: true, variables: ["bos_token": "<s>", "eos_token": "</s>"])
        #expect(rendered == "<s><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
    }

    static let gemmaTemplate = #"""
{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '
' + message['content'] | trim + '<end_of_turn>
' }}{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model
'}}{% endif %}
"""#

    @Test("Gemma")
    func gemma() throws {
        let rendered = try ChatTemplate(Self.gemmaTemplate).render(
            messages: [ChatMessage(role: "user", content: "Hi"), ChatMessage(role: "assistant", content: "Hello! "), ChatMessage(role: "user", content: "2+2?")],
            addGenerationPrompt: true, variables: ["bos_token": "<s>", "eos_token": "</s>"])
        #expect(rendered == "<s><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n<start_of_turn>user\n2+2?<end_of_turn>\n<start_of_turn>model\n")
    }

    static let mistralTemplate = #"""
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\n\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""#

    @Test("Mistral (system folded into the first [INST])")
    func mistral() throws {
        let rendered = try ChatTemplate(Self.mistralTemplate).render(
            messages: [ChatMessage(role: "system", content: "Sys"), ChatMessage(role: "user", content: "Q1"), ChatMessage(role: "assistant", content: "A1"), ChatMessage(role: "user", content: "Q2")],
            addGenerationPrompt: false, variables: ["bos_token": "<s>", "eos_token": "</s>"])
        #expect(rendered == "<s> [INST] Sys\n\nQ1 [/INST] A1</s> [INST] Q2 [/INST]")
    }

    static let phi3Template = #"""
{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>
' + message['content'] + '<|end|>
'}}{% elif message['role'] == 'user' %}{{'<|user|>
' + message['content'] + '<|end|>
'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>
' + message['content'] + '<|end|>
'}}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>
' }}{% else %}{{ eos_token }}{% endif %}
"""#

    @Test("Phi-3")
    func phi3() throws {
        let rendered = try ChatTemplate(Self.phi3Template).render(
            messages: [ChatMessage(role: "system", content: "Sys"), ChatMessage(role: "user", content: "Hi")],
            addGenerationPrompt: false, variables: ["bos_token": "<s>", "eos_token": "</s>"])
        #expect(rendered == "<|system|>\nSys<|end|>\n<|user|>\nHi<|end|>\n</s>")
    }

    @Test("Gemma refuses a system message through raise_exception")
    func gemmaRefusesSystem() {
        #expect(throws: ChatTemplateError.raised("System role not supported")) {
            try ChatTemplate(Self.gemmaTemplate).render(
                messages: [ChatMessage(role: "system", content: "x"), ChatMessage(role: "user", content: "y")],
                addGenerationPrompt: true, variables: ["bos_token": "<s>"])
        }
    }
}
