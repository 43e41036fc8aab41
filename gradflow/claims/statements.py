"""Each claim of the seed notes, in English and in the notes' own words, in the notes' order."""

#: ``id -> (claim in English, the notes' words)``; the notes are the shared seed
#: ``rnn-lstm-gru-notes.md``.
CLAIMS = {
    "rnn_long_term_dependency": (
        "A vanilla RNN loses what it saw long ago: every step multiplies by W, so it loses "
        "the ability to learn over long gaps (long-term dependency problem).",
        "每个时间步都会乘以系数W，RNN 会丧失学习时间间隔较大的信息的能力"),
    "sigmoid_derivative_max": (
        "The sigmoid's derivative f'(z) = f(z)(1 - f(z)) lies between 0 and 1/4.",
        "导数的取值范围为0~0.25"),
    "tanh_derivative_max": (
        "The tanh's derivative f'(z) = 1 - f(z)^2 lies between 0 and 1.",
        "导数的取值范围为0~1"),
    "derivatives_mostly_below_one": (
        "With sigmoid or tanh, f'(z) is most of the time above 0 and below 1.",
        "大多数时候f'(z)都是大于0小于1的"),
    "vanishing_small_w": (
        "With sigmoid or tanh and W between 0 and 1, the repeated products of f'(z) and W "
        "tend to 0: the vanishing gradient.",
        "如果W的值也是大于0小于1……结果会趋于0，从而造成了梯度消失的问题"),
    "exploding_large_w": (
        "If W is very large, the repeated products grow: the exploding gradient.",
        "如果W的值特别大，则多次连乘后就会出现梯度爆炸的问题"),
    "relu_alleviates_vanishing": (
        "Remedy 1: relu, whose derivative is 1 for z > 0, alleviates vanishing to some "
        "extent.",
        "relu的导数在x>0时恒为1，一定程度上可以缓解梯度消失问题"),
    "relu_dead_units": (
        "relu's derivative is 0 for z < 0, so some units never activate; a small learning "
        "rate partly solves it.",
        "当z<0时，导数恒为0，会造成部分神经元无法激活（可通过设置小学习率部分解决）"),
    "relu_explodes_large_w": (
        "With relu too, a very large W makes the gradient explode.",
        "但是如果W的值特别大，也会出现梯度爆炸的问题"),
    "clipping_bounds_the_step": (
        "Remedy 2: gradient clipping holds the gradient at a threshold. (The notes write "
        "'below the threshold'; clipping acts on a gradient above it: g <- c g / ||g|| when "
        "||g|| > c, which bounds the step of an exploding gradient.)",
        "梯度裁剪（当梯度小于某个阈值时，梯度就为某个阈值）"),
    "gated_cells_additive_path": (
        "Remedy 3: LSTM and GRU add the previous state in the update (c_t = F c_(t-1) + I C~; "
        "h_t = Z h_(t-1) + (1 - Z) H~), which balances vanishing to some extent.",
        "LSTM / GRU……在从t 到 t-1 的更新时都引入了加法，能够一定程度平衡梯度消失等问题"),
    "parameters_independent_of_length": (
        "The parameters do not grow with the sequence length: every time step shares them.",
        "不会，RNN中的每个时间步相当于共享参数"),
    "gru_fewer_parameters": (
        "GRU merges the input and forget gates into an update gate: a simpler network with "
        "fewer parameters.",
        "将输入门和遗忘门合并为更新门……GRU 参数更少"),
    "gru_converges_faster": (
        "GRU, having fewer parameters, converges more easily.",
        "GRU 参数更少因此更容易收敛"),
    "lstm_more_expressive_on_large_data": (
        "On a very large data set LSTM is more expressive.",
        "数据集很大的情况下，LSTM表达性能更好"),
}

#: ``id -> statement``: the English claim with the notes' words quoted.
STATEMENTS = {key: f"{english} Notes: \"{quote}\"" for key, (english, quote) in CLAIMS.items()}

#: The claims' order: the notes' order.
ORDER = tuple(CLAIMS)


def english(claim_id):
    """The claim in English alone (for figures, whose fonts may lack CJK glyphs)."""
    return CLAIMS[claim_id][0]
