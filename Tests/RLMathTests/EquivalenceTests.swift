import Testing
import RLMath

/// A gold answer, a boxed model answer, and whether a careful grader accepts it.
struct Judgement: Sendable, CustomTestStringConvertible {
    var gold: String
    var answer: String
    var correct: Bool
    var testDescription: String { "\(gold) vs \(answer) → \(correct)" }

    init(_ gold: String, _ answer: String, _ correct: Bool) {
        self.gold = gold
        self.answer = answer
        self.correct = correct
    }
}

private func accepts(_ judgement: Judgement, options: EquivalenceOptions = EquivalenceOptions()) -> Bool {
    MathVerifier(options: options).verify(gold: judgement.gold, completion: "The answer is $\\boxed{\(judgement.answer)}$.").isCorrect
}

@Suite struct NumberFormTests {
    @Test(arguments: [
        Judgement("204", "204", true), Judgement("025", "25", true), Judgement("25", "025", true),
        Judgement("809", "809.", true), Judgement("104", "104.0", true), Judgement("0", "-0", true),
        Judgement("\\frac{1}{2}", "0.5", true), Judgement("\\frac12", "\\dfrac{1}{2}", true),
        Judgement("\\frac 59", "\\tfrac{5}{9}", true), Judgement("\\frac9{19}", "9/19", true),
        Judgement("-1./3", "-\\frac{1}{3}", true), Judgement(".0000672", "6.72e-5", true),
        Judgement("4.5e33", "4.5 \\times 10^{33}", true), Judgement("6.63e-34", "6.63\\times10^{-34}", true),
        Judgement("3.6\\times 10^{5}", "360000", true), Judgement("3.83e35", "3.83 \\cdot 10^{35}", true),
        Judgement("\\frac{14}{3}", "4.\\overline{6}", true), Judgement("\\frac{1}{3}", "0.\\overline{3}", true),
        Judgement("1\\frac{4}{5}", "\\frac{9}{5}", true), Judgement("4\\frac23", "\\frac{14}{3}", true),
        Judgement("137 \\frac{1}{2}", "275/2", true), Judgement("\\frac52", "2 1/2", true), Judgement("1", "2 1/2", false),
        Judgement("\\frac{1}{6}", "0.1\\dot{6}", true), Judgement("\\frac{1}{12}", "0.0833333333333333", true),
        Judgement("\\frac{1}{12}", "0.0833333333", true), Judgement("\\frac{1}{12}", "0.08333", false), Judgement("\\frac{1}{12}", "0.0833333343", false), Judgement("\\frac{2}{3}", "0.6666666666666666", true), Judgement("10{,}000", "10000", true),
        Judgement("10,000", "10^4", true), Judgement("32\\,348", "32348", true), Judgement("10,\\!080", "10080", true),
        Judgement("\\$18.90", "18.9", true), Judgement("\\$36", "36 \\text{ dollars}", true),
        // Near misses.
        Judgement("\\frac{1}{6}", "0.1667", false), Judgement("\\frac{1}{3}", "0.33", false),
        Judgement("3.2\\times10^{-19}", "1.6\\times10^{-19}", false), Judgement("0", "0.0000001", false),
        Judgement("11111111100", "1.1111111 \\times 10^{10}", false), Judgement("2^{-98}", "2^{-99}", false),
        Judgement("4.5e33", "4.6e33", false), Judgement("025", "250", false), Judgement("-1./3", "1/3", false),
    ])
    func numbers(_ judgement: Judgement) {
        #expect(accepts(judgement) == judgement.correct)
    }

    @Test func hugeExactValuesStayExact() {
        let judgements = [
            Judgement("\\frac{1}{2006!}", "\\frac{1}{2004!}", false),
            Judgement("\\frac{1}{2006!}", "\\frac{1}{2006 \\cdot 2005 \\cdot 2004!}", true),
            Judgement("2^{1009}", "2\\cdot 2^{1008}", true),
            Judgement("2^{1009}", "2^{1010}", false),
            Judgement("3^{100}", "515377520732011331036461129765621272702107522001", true),
            Judgement("3^{100}", "515377520732011331036461129765621272702107522002", false),
        ]
        for judgement in judgements {
            #expect(accepts(judgement) == judgement.correct, "\(judgement.testDescription)")
        }
    }
}

@Suite struct ExpressionTests {
    @Test(arguments: [
        Judgement("3\\sqrt{13}", "\\sqrt{117}", true), Judgement("6\\sqrt 2", "\\sqrt{72}", true),
        Judgement("\\sqrt3", "3^{1/2}", true), Judgement("\\sqrt[3]{8}", "2", true),
        Judgement("\\frac{8}{\\sqrt[3]{7}}", "8 \\cdot 7^{-1/3}", true),
        Judgement("2x+3", "3+2x", true), Judgement("p - q", "-q+p", true), Judgement("p - q", "q - p", false),
        Judgement("x^5 - x^4 + x^3 - x^2 + x - 1", "(x-1)(x^4+x^2+1)", true),
        Judgement("k(4k^2+k-1)/2", "\\frac{4k^3+k^2-k}{2}", true), Judgement("2^n - n - 1", "2^n - 1", false),
        Judgement("\\frac{1}{m} t", "t/m", true), Judgement("6m", "6", false), Judgement("\\frac{c}{\\sqrt 2}", "\\frac{1}{\\sqrt{2}}", false),
        Judgement("12\\pi", "\\pi \\cdot 12", true), Judgement("12\\pi", "37.70", false),
        Judgement("e^{t}/3", "\\frac{1}{3}e^t", true), Judgement("e^{t}/3", "e^{-t}/3", false),
        Judgement("6 - 5i", "-5i+6", true), Judgement("6 - 5i", "6+5i", false), Judgement("i^2", "-1", true),
        Judgement("\\sin 30^\\circ", "\\frac{1}{2}", true), Judgement("\\cos 60^{\\circ}", "0.5", true),
        Judgement("\\frac{\\pi}{6}", "\\arcsin(1/2)", true), Judgement("\\tan^{-1} 1", "\\frac{\\pi}{4}", true),
        Judgement("\\log_2 8", "3", true), Judgement("\\ln e^2", "2", true), Judgement("\\exp(0)", "1", true),
        Judgement("5!", "120", true), Judgement("\\binom{10}{2}", "45", true), Judgement("{10 \\choose 3}", "120", true),
        Judgement("\\min(3, 5)", "3", true), Judgement("\\max(3, 5, 4)", "4", false), Judgement("\\gcd(12, 18)", "6", true),
        Judgement("\\operatorname{lcm}(4,6)", "12", true), Judgement("\\left\\{\\lambda \\colon \\lambda \\geq \\frac{1}{N}\\right\\}", "[\\frac1N, \\infty)", true),
        Judgement("|-3|", "3", true), Judgement("|x|", "x", false), Judgement("|x|", "\\sqrt{x^2}", true), Judgement("\\lfloor 2.5 \\rfloor", "2", true), Judgement("\\lceil 2.1 \\rceil", "3", true),
        Judgement("\\cot x", "\\frac{\\cos x}{\\sin x}", true), Judgement("\\cot x", "\\tan x", false),
        Judgement("\\sqrt{4 \\pi G \\rho_{0} r_{0}^{2}}", "2 r_0 \\sqrt{\\pi G \\rho_0}", true),
        Judgement("\\frac{17}{50}", "{17 \\over 50}", true), Judgement("np.arcsin(10/13)", "\\arcsin{\\frac{10}{13}}", true),
    ])
    func expressions(_ judgement: Judgement) {
        #expect(accepts(judgement) == judgement.correct)
    }
}

@Suite struct StructureTests {
    @Test(arguments: [
        // Sets and lists are unordered; tuples are ordered.
        Judgement("\\{1,2,3\\}", "\\{3,2,1\\}", true), Judgement("1,-2", "-2, 1", true), Judgement("1,-2", "1", false),
        Judgement("$69$,$84$", "84, 69", true), Judgement("3 \\pm 2\\sqrt{2}", "3+2\\sqrt2, 3-2\\sqrt2", true),
        Judgement("-2,0,2", "0, \\pm 2", true), Judgement("(15,-29)", "(-29,15)", false), Judgement("(15,-29)", "x=15, y=-29", true),
        Judgement("1,-2", "x = 1 \\text{ or } x = -2", true), Judgement("(1,1), (3,2)", "(3,2),(1,1)", true),
        // Intervals.
        Judgement("(3,4]", "(3,4]", true), Judgement("(3,4]", "[3,4]", false), Judgement("(-\\infty, 0]", "(-\\infty,0]", true),
        Judgement("(2,\\infty)", "x > 2", true), Judgement("(2,\\infty)", "x \\geq 2", false), Judgement("[-2,7]", "x \\in [-2,7]", true),
        Judgement("(0,9) \\cup (9,36)", "(9,36) \\cup (0,9)", true), Judgement("(0,9) \\cup (9,36)", "(0,36)", false),
        Judgement("k \\geqslant 2", "[2, \\infty)", true),
        // Equations.
        Judgement("y = 2x + 3", "2x - y + 3 = 0", true), Judgement("y = 2x + 3", "y = 3x + 2", false),
        Judgement("x=5", "5", true), Judgement("f(x)=2x", "2x", true), Judgement("f(x)=2x", "f(x) = x", false),
        Judgement("f(n)=n", "f(x)=x", true), Judgement("f(n)=n^2", "f(x)=x", false),
        Judgement("I(0) e^{-\\frac{t}{R C}}", "0", false), Judgement("I(0) e^{-\\frac{t}{R C}}", "I(0)e^{-t/(RC)}", true),
        Judgement("f(2) < f(1) < f(4)", "f(2) < f(1) < f(4)", true),
        Judgement("\\frac{17}{50}", "\\frac{17}{50} = 0.34", true), Judgement("x = 11", "x = 5+5+1 = 7 = 11", true),
        Judgement("11", "x \\approx 11", true), Judgement("z = 1 + 1 = 2", "z = 3+3 = 2", true), Judgement("7 = 11a+c", "11a+c", false),
        Judgement("x < 1", "-x > -1", true), Judgement("x < 1", "x > -1", false), Judgement("x \\leq 5", "5 \\geq x", true),
        Judgement("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}", true), Judgement("x^2/4 + y^2/3 = 1", "x^2/16 + y^2/12 = 1/4", true),
        Judgement("\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}", true),
        Judgement("\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}", "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}", true),
        Judgement("\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}", "\\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix} \\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix}", false), Judgement("(15,-29)", "(x, y) = (15, -29)", true),
        Judgement("\\frac{1}{6}", "\\frac{1}{6} \\approx 0.167", true), Judgement("0.167", "\\frac{1}{6} \\approx 0.167", true),
        Judgement("\\frac{1}{5}", "\\frac{1}{6} \\approx 0.2", false),
        Judgement("\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "\\langle -2, -14, -7 \\rangle", true),
        Judgement("\\begin{pmatrix} -2 \\\\ -14 \\\\ -7 \\end{pmatrix}", "(-2,-14,7)", false),
        // Matrices and vectors.
        Judgement("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "-\\begin{bmatrix} 1 & 0 \\\\ 0 & 1 \\end{bmatrix}", true),
        Judgement("\\begin{pmatrix} -1 & 0 \\\\ 0 & -1 \\end{pmatrix}", "\\begin{pmatrix} 1 & 0 \\\\ 0 & -1 \\end{pmatrix}", false),
        Judgement("\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", "\\begin{pmatrix} 0.2 \\\\ -3.6 \\end{pmatrix}", true),
    ])
    func structures(_ judgement: Judgement) {
        #expect(accepts(judgement) == judgement.correct)
    }
}

@Suite struct MarkerTests {
    @Test(arguments: [
        // Units and wrappers (but single letters are variables, never units).
        Judgement("42", "42 \\text{ cm}", true), Judgement("864 \\mbox{ inches}^2", "864", true), Judgement("5.4 \\text{ cents}", "5.4", true),
        Judgement("15000", "15000 \\text{ kcal m}^{-2} \\text{yr}^{-1}", true), Judgement("809", "809 \\text{ (mod 1000)}", true), Judgement("5", "5 \\text{ (since } x > 0)", true),
        Judgement("3e8", "3 \\times 10^8 \\mathrm{~m} / \\mathrm{s}", true), Judgement("4.5e33", "4.5\\times10^{33}\\,\\mathrm{erg\\,s^{-1}}", true), Judgement("6m", "6 \\text{ m}", false),
        // Degrees.
        Judgement("90^\\circ", "90", true), Judgement("90^\\circ", "90°", true), Judgement("90^\\circ", "\\frac{\\pi}{2}", true),
        Judgement("90^\\circ", "45^\\circ", false), Judgement("1950", "1950^\\circ C", true),
        // Percent and dollars.
        Judgement("62.5\\%", "62.5", true), Judgement("\\$20", "-\\$20", false), Judgement("\\$32,\\!348", "\\$32,348", true), Judgement("28\\%", "28 percent", true), Judgement("28\\%", "28 pct", true),
        Judgement("28\\%", "28 \\%", true), Judgement("28\\%", "\\text{28 percent}", true), Judgement("0.28", "28", false),
        Judgement("1000", "1 000", true), Judgement("7425000", "7,425,000", true), Judgement("1000.0", "1,000.0", true),
        Judgement("1000.99", "1000.99€", true), Judgement("864", "864 \\text{ m}^2", true), Judgement("\\$20", "20\\%", false), Judgement("\\frac{1}{6}", "\\frac{1}{6}\\%", false),
        // Bases: the base matters.
        Judgement("2516_8", "2516_8", true), Judgement("2516_8", "2516", true), Judgement("2516_8", "2516_9", false),
        Judgement("2516_8", "1358", false), Judgement("4210_{5}", "4210_5", true),
        // Infinity.
        Judgement("\\infty", "∞", true), Judgement("-\\infty", "\\infty", false),
        // Multiple choice.
        Judgement("\\text{(C)}", "C", true), Judgement("\\text{(C)}", "\\textbf{(C) } 3", true), Judgement("\\text{(C)}", "(D)", false),
        Judgement("50", "\\text{(B)}\\ 50", true), Judgement("50", "\\text{(B)}\\ 51", false),
        Judgement("\\frac{9}{10}", "\\textbf{(D) }\\frac{9}{10}", true), Judgement("\\frac{25}{32}", "\\frac{25}{32} \\ \\mathbf{(B)}", true),
        Judgement("40", "40\\textbf{ (B)}", true), Judgement("9", "9 \\text{ (C)}", true), Judgement("\\pm 8", "\\text{(E)} \\, \\pm 8", true),
        Judgement("\\frac{1}{6}", "\\textbf{(D)}\\ \\frac{1}{12}", false), Judgement("P(A)", "P(B)", false),
        Judgement("2002 and 2003", "\\text{(A)}\\ 2002\\ \\text{and}\\ 2003", true), Judgement("-13.5", "{-}13.5", true),
        Judgement("1:1", "2:2", true), Judgement("3:4", "\\frac{3}{4}", true), Judgement("11^{\\text{th}}", "11", true),
        Judgement("\\{x \\mid 2 < x < 3\\}", "(2,3)", true), Judgement("\\{x \\mid 2 < x < 3\\}", "\\Big\\{x\\ |\\ 2 < x < 3\\Big\\}", true),
        Judgement("\\$1.15", "\\textdollar 1.15", true),
        // Text.
        Judgement("\\text{even}", "even", true), Judgement("\\text{even}", "\\text{Even}", true), Judgement("\\text{even}", "\\text{odd}", false),
        Judgement("4", "\\text{four}", true), Judgement("\\text{Evelyn}", "\\text{Evelyn}", true),
    ])
    func markers(_ judgement: Judgement) {
        #expect(accepts(judgement) == judgement.correct)
    }

    @Test func percentAsFractionIsAnOption() {
        for judgement in [Judgement("50\\%", "0.5", true), Judgement("\\frac12", "50\\%", true)] {
            #expect(accepts(judgement))
            #expect(!accepts(judgement, options: EquivalenceOptions(percentAsFraction: false)))
        }
        // A spurious sign fails either way.
        #expect(!accepts(Judgement("\\frac16", "\\frac16\\%", false)))
        #expect(!accepts(Judgement("809", "809\\%", false)))
    }

    @Test func toleranceIsRelativeAndConfigurable() {
        let close = Judgement("\\pi", "3.14159", true)
        #expect(!accepts(close))
        #expect(accepts(close, options: EquivalenceOptions(relativeTolerance: 1e-5)))
        // Relative: tiny magnitudes are not all "equal to zero".
        #expect(!accepts(Judgement("1.6\\times10^{-19}\\pi", "3.2\\times10^{-19}\\pi", true), options: EquivalenceOptions(relativeTolerance: 1e-3)))
    }
}
