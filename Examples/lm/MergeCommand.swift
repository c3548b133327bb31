import ArgumentParser
import FoundationEssentials
import RLModel
import RLTensor

extension LM {
    /// Folds a LoRA adapter into its base model and writes a plain Hugging Face folder.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Fold --adapter into --model and write a plain Hugging Face folder.",
            discussion: """
                The output holds config.json, the merged weights (W + scaling · B A), the base's \
                generation_config.json and tokenizer files: transformers loads it without PEFT.
                """)

        @OptionGroup var options: ModelOptions

        @Option(help: "The folder to write (must not exist or be empty).")
        var output: String

        @Option(help: "How to store the merged weights: f32 or bf16.")
        var weightType: String = "f32"

        func run() throws {
            guard options.adapter != nil else { throw LMError("merge needs --adapter (the LoRA folder to fold in)") }
            let type: DType
            switch weightType {
            case "f32", "float32": type = .f32
            case "bf16", "bfloat16": type = .bf16
            default: throw LMError("--weight-type \(weightType): use f32 or bf16")
            }
            let destination = URL(fileURLWithPath: output)
            if let contents = try? FileManager.default.contentsOfDirectory(atPath: output), !contents.isEmpty {
                throw LMError("--output \(output) is not empty; choose a new folder")
            }
            let merged = try options.loadModel().mergingAdapters()
            let generationFile = options.folder.appendingPathComponent("generation_config.json")
            let generation = FileManager.default.fileExists(atPath: generationFile.path) ? try GenerationConfig.load(from: generationFile) : nil
            try merged.save(to: destination, weightType: type, generationConfig: generation)
            let hasTokenizer = ["tokenizer.json", "vocab.json"].contains {
                FileManager.default.fileExists(atPath: options.folder.appendingPathComponent($0).path)
            }
            if hasTokenizer { try Tokenizer(directory: options.folder).save(to: destination) }
            print("wrote \(output): \(merged.config.numHiddenLayers) layers, adapters folded in\(hasTokenizer ? ", tokenizer copied" : "")")
        }
    }
}
