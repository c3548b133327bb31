import RLTensor
import Testing

@testable import RLReasoning

@Suite("ZeRO stage 1 ownership")
struct OptimizerShardsTests {
    static let parameters: [String: Tensor] = [
        "embed": .zeros([100, 8]), "lm_head": .zeros([100, 8]), "layer.0.q": .zeros([8, 8]), "layer.0.k": .zeros([8, 8]),
        "layer.1.q": .zeros([8, 8]), "layer.1.k": .zeros([8, 8]), "norm": .zeros([8]),
    ]

    @Test("Every tensor has one owner, the shares are balanced, and the split does not depend on order")
    func ownersAreBalancedAndDeterministic() {
        let shards = OptimizerShards(parameters: Self.parameters, worldSize: 2)
        #expect(Set(shards.owner.keys) == Set(Self.parameters.keys))
        #expect(Set((0..<2).flatMap { shards.names(of: $0) }).count == Self.parameters.count)
        // 800 and 800, then four 64s alternating, then 8 to the rank that has fewer (a tie: rank 0).
        #expect(shards.elements == [936, 928], "\(shards.elements)")
        #expect(shards.names(of: 0).contains("embed") != shards.names(of: 1).contains("embed"))
        #expect(shards.names(of: 0).contains("embed") != shards.names(of: 0).contains("lm_head"))
        let again = OptimizerShards(parameters: Self.parameters, worldSize: 2)
        #expect(again.owner == shards.owner)
        #expect(shards.summary(rank: 0, bytesPerElement: 4).contains("over 2 ranks (zero_stage 1)"))
    }

    @Test("More ranks than tensors leaves some ranks without state")
    func moreRanksThanTensors() {
        let shards = OptimizerShards(parameters: ["a": .zeros([4]), "b": .zeros([2])], worldSize: 3)
        #expect(shards.names(of: 0) == ["a"] && shards.names(of: 1) == ["b"] && shards.names(of: 2).isEmpty)
    }

    @Test("zero_stage outside 0...1 is refused, naming the setting")
    func stageIsChecked() {
        var c = GRPOConfiguration()
        c.zeroStage = 2
        #expect(throws: TrainingError.self) { try c.validate() }
    }
}
