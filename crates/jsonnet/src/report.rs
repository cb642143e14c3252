//! Plain-text messages and locations for rsjsonnet's error values.
//!
//! rsjsonnet-front renders these only to stderr, so we render our own short
//! messages (wording follows rsjsonnet-front) and `FILE:LINE:COL` locations.

use rsjsonnet_lang::ast::{BinaryOp, UnaryOp};
use rsjsonnet_lang::lexer::LexError;
use rsjsonnet_lang::parser::{ActualToken, ExpectedToken, ParseError};
use rsjsonnet_lang::program::{
    AnalyzeError, EvalErrorKind, EvalErrorValueType, EvalStackTraceItem, LoadError, Program,
};
use rsjsonnet_lang::span::{SpanContext, SpanContextId, SpanId};
use rsjsonnet_lang::token::STokenKind;

/// Stack traces beyond this many frames keep their innermost and outermost
/// halves: a stack overflow would otherwise produce `max_stack` lines.
const MAX_TRACE_FRAMES: usize = 20;

/// The user's file as loaded into a `Program`, to turn spans into positions.
pub(crate) struct Source<'a> {
    pub(crate) file_name: &'a str,
    pub(crate) text: &'a [u8],
    pub(crate) ctx: SpanContextId,
}

/// A resolved position; `line` and `column` are 1-based, columns count chars.
pub(crate) struct Position {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl Source<'_> {
    pub(crate) fn position(&self, program: &Program<'_>, span: SpanId) -> Position {
        let (ctx, start, _) = program.span_manager().get_span(span);
        if ctx == self.ctx {
            return line_col(self.file_name, self.text, start);
        }
        // The only other source a span can point into is the part of the
        // standard library written in Jsonnet.
        let SpanContext::Source(src) = *program.span_manager().get_context(ctx);
        let (stdlib_id, stdlib) = program.get_stdlib_source();
        if src == stdlib_id {
            line_col("<stdlib>", stdlib, start)
        } else {
            Position {
                file: "<unknown>".into(),
                line: 0,
                column: 0,
            }
        }
    }
}

pub(crate) fn line_col(file: &str, text: &[u8], offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let prefix = before.get(line_start..).unwrap_or_default();
    Position {
        file: file.to_owned(),
        line: 1 + before.iter().filter(|&&b| b == b'\n').count(),
        column: 1 + String::from_utf8_lossy(prefix).chars().count(),
    }
}

/// Message and span of a load (lex, parse, static analysis) error.
pub(crate) fn load_error(err: &LoadError) -> (String, SpanId) {
    match err {
        LoadError::Lex(e) => lex_error(e),
        LoadError::Parse(ParseError::Expected {
            span,
            expected,
            instead,
        }) => {
            let expected: Vec<String> = expected.iter().map(|t| expected_name(*t)).collect();
            (
                format!(
                    "expected {} instead of {}",
                    expected.join(" or "),
                    actual_name(instead)
                ),
                *span,
            )
        }
        LoadError::Analyze(e) => analyze_error(e),
    }
}

fn lex_error(err: &LexError) -> (String, SpanId) {
    match *err {
        LexError::InvalidChar { span, chr } => {
            (format!("invalid character U+{:04X}", u32::from(chr)), span)
        }
        LexError::InvalidUtf8 { span, .. } => ("invalid UTF-8 sequence".into(), span),
        LexError::UnfinishedMultilineComment { span } => ("unfinished block comment".into(), span),
        LexError::LeadingZeroInNumber { span } => ("number has leading zero".into(), span),
        LexError::MissingFracDigits { span } => {
            ("missing digits in fractional part of number".into(), span)
        }
        LexError::MissingExpDigits { span } => {
            ("missing digits in exponent part of number".into(), span)
        }
        LexError::MissingDigitAfterUnderscore { span } => ("missing digit after `_`".into(), span),
        LexError::ExpOverflow { span } => ("number exponent overflow".into(), span),
        LexError::InvalidEscapeInString { span, chr } => {
            (format!("invalid escape `\\{chr}` in string"), span)
        }
        LexError::IncompleteUnicodeEscape { span } => {
            ("incomplete unicode escape sequence in string".into(), span)
        }
        LexError::InvalidUtf16EscapeSequence { span, .. } => {
            ("invalid UTF-16 escape sequence in string".into(), span)
        }
        LexError::UnfinishedString { span } => ("unfinished string".into(), span),
        LexError::MissingLineBreakAfterTextBlockStart { span } => {
            ("missing line break after `|||`".into(), span)
        }
        LexError::MissingWhitespaceTextBlockStart { span } => (
            "missing indentation on the first line of a text block".into(),
            span,
        ),
        LexError::InvalidTextBlockTermination { span } => {
            ("invalid text block termination".into(), span)
        }
    }
}

fn analyze_error(err: &AnalyzeError) -> (String, SpanId) {
    match err {
        AnalyzeError::UnknownVariable { span, name } => {
            (format!("unknown variable `{name}`"), *span)
        }
        AnalyzeError::SelfOutsideObject { self_span } => {
            ("`self` outside object".into(), *self_span)
        }
        AnalyzeError::SuperOutsideObject { super_span } => {
            ("`super` outside object".into(), *super_span)
        }
        AnalyzeError::DollarOutsideObject { dollar_span } => {
            ("`$` outside object".into(), *dollar_span)
        }
        AnalyzeError::RepeatedLocalName {
            repeated_span,
            name,
            ..
        } => (format!("repeated local name `{name}`"), *repeated_span),
        AnalyzeError::RepeatedFieldName {
            repeated_span,
            name,
            ..
        } => (format!("repeated field name {name:?}"), *repeated_span),
        AnalyzeError::RepeatedParamName {
            repeated_span,
            name,
            ..
        } => (format!("repeated parameter name `{name}`"), *repeated_span),
        AnalyzeError::PositionalArgAfterNamed { arg_span } => {
            ("positional argument after named argument".into(), *arg_span)
        }
        AnalyzeError::TextBlockAsImportPath { span } => {
            ("import paths cannot be text blocks".into(), *span)
        }
        AnalyzeError::ComputedImportPath { span } => {
            ("import paths cannot be computed".into(), *span)
        }
    }
}

/// Message and (when known) span of an evaluation error. For `error "..."`
/// the message is the thrown string itself, untouched.
pub(crate) fn eval_error(kind: &EvalErrorKind, max_stack: usize) -> (String, Option<SpanId>) {
    use EvalErrorKind as K;
    let t = type_name;
    match kind {
        K::StackOverflow => (
            format!("stack overflow (more than {max_stack} nested calls)"),
            None,
        ),
        K::InfiniteRecursion => ("infinite recursion".into(), None),
        K::InvalidIndexedType { span, got_type } => (
            format!("cannot index value of type {}", t(*got_type)),
            Some(*span),
        ),
        K::InvalidSlicedType { span, got_type } => (
            format!("cannot slice value of type {}", t(*got_type)),
            Some(*span),
        ),
        K::SliceIndexOrStepIsNotNumber { span, got_type } => (
            format!("slice index or step must be a number, got {}", t(*got_type)),
            Some(*span),
        ),
        K::StringIndexIsNotNumber { span, got_type } => (
            format!("cannot index string with value of type {}", t(*got_type)),
            Some(*span),
        ),
        K::ArrayIndexIsNotNumber { span, got_type } => (
            format!("cannot index array with value of type {}", t(*got_type)),
            Some(*span),
        ),
        K::NumericIndexIsNotValid { span, index } => (
            format!("{index} is not a valid numeric index value"),
            Some(*span),
        ),
        K::NumericIndexOutOfRange {
            span,
            index,
            length,
        } => (
            format!("index {index} is out of range for indexable of length {length}"),
            Some(*span),
        ),
        K::ObjectIndexIsNotString { span, got_type } => (
            format!("cannot index object with value of type {}", t(*got_type)),
            Some(*span),
        ),
        K::RepeatedFieldName { span, name } => {
            (format!("repeated field name {name:?}"), Some(*span))
        }
        K::FieldNameIsNotString { span, got_type } => (
            format!("field name must be a string, got {}", t(*got_type)),
            Some(*span),
        ),
        K::UnknownObjectField { span, field_name } => {
            (format!("unknown field {field_name:?}"), Some(*span))
        }
        K::FieldOfNonObject { span } => (
            "attempted to access field of non-object value".into(),
            Some(*span),
        ),
        K::SuperWithoutSuperObject { span } => {
            ("`super` used without super object".into(), Some(*span))
        }
        K::ForSpecValueIsNotArray { span, got_type } => (
            format!("`for` expects an array, got {}", t(*got_type)),
            Some(*span),
        ),
        K::CondIsNotBool { span, got_type } => (
            format!("condition must be a boolean, got {}", t(*got_type)),
            Some(*span),
        ),
        K::CalleeIsNotFunction { span, got_type } => (
            format!("attempted to call a {} instead of a function", t(*got_type)),
            *span,
        ),
        K::TooManyCallArgs { span, num_params } => (
            format!("too many arguments, function has {num_params} parameter(s)"),
            *span,
        ),
        K::UnknownCallParam { span, param_name } => {
            (format!("unknown parameter `{param_name}`"), *span)
        }
        K::RepeatedCallParam { span, param_name } => {
            (format!("repeated parameter `{param_name}`"), *span)
        }
        K::CallParamNotBound { span, param_name } => {
            (format!("parameter `{param_name}` is not bound"), *span)
        }
        K::NativeCallFailed => ("native functions are not available".into(), None),
        K::InvalidUnaryOpType { span, op, rhs_type } => (
            format!(
                "unary operator `{}` cannot be applied to a value of type {}",
                unary_op(*op),
                t(*rhs_type)
            ),
            Some(*span),
        ),
        K::InvalidBinaryOpTypes {
            span,
            op,
            lhs_type,
            rhs_type,
        } => (
            format!(
                "binary operator `{}` cannot be applied to values of types {} and {}",
                binary_op(*op),
                t(*lhs_type),
                t(*rhs_type)
            ),
            *span,
        ),
        K::NumberNotBitwiseSafe { span } => (
            "numeric value cannot be safely used for bitwise operation".into(),
            *span,
        ),
        K::NumberOverflow { span } => ("numeric overflow".into(), *span),
        K::NumberNan { span } => ("numeric result is NaN".into(), *span),
        K::DivByZero { span } => ("division by zero".into(), *span),
        K::ShiftByNegative { span } => ("shift by negative amount".into(), *span),
        K::InvalidStdFuncArgType {
            func_name,
            arg_index,
            expected_types,
            got_type,
        } => {
            let expected: Vec<&str> = expected_types.iter().map(|e| t(*e)).collect();
            (
                format!(
                    "argument {} of `std.{func_name}` is expected to be {}, got {}",
                    arg_index + 1,
                    expected.join(" or "),
                    t(*got_type)
                ),
                None,
            )
        }
        K::AssertFailed { span, message } => (
            match message {
                Some(m) => format!("assertion failed: {m}"),
                None => "assertion failed".into(),
            },
            Some(*span),
        ),
        K::AssertEqualFailed { lhs, rhs } => (format!("assertion failed: {lhs} != {rhs}"), None),
        K::ExplicitError { span, message } => (message.clone(), Some(*span)),
        K::ImportFailed { span, path } => (
            format!("cannot import {path:?}: imports are disabled"),
            Some(*span),
        ),
        K::UnknownExtVar { name } => (format!("unknown external variable {name:?}"), None),
        K::ManifestFunction => ("functions cannot be manifested".into(), None),
        K::CompareNullInequality => ("nulls cannot be compared for inequality".into(), None),
        K::CompareBooleanInequality => ("booleans cannot be compared for inequality".into(), None),
        K::CompareObjectInequality => ("objects cannot be compared for inequality".into(), None),
        K::CompareFunctions => ("functions cannot be compared".into(), None),
        K::CompareDifferentTypesInequality { lhs_type, rhs_type } => (
            format!(
                "cannot compare values of different types ({} and {}) for inequality",
                t(*lhs_type),
                t(*rhs_type)
            ),
            None,
        ),
        K::PrimitiveEqualsNonPrimitive { got_type } => (
            format!(
                "std.primitiveEquals cannot compare values of type {}",
                t(*got_type)
            ),
            None,
        ),
        K::Other { span, message } => (message.clone(), *span),
    }
}

/// One line per frame, innermost first, like go-jsonnet's traces.
pub(crate) fn stack_trace(
    program: &Program<'_>,
    src: &Source<'_>,
    trace: &[EvalStackTraceItem],
) -> String {
    let frames: Vec<&EvalStackTraceItem> = trace.iter().rev().collect();
    let mut out = String::new();
    let keep = MAX_TRACE_FRAMES / 2;
    for (i, item) in frames.iter().enumerate() {
        if frames.len() > MAX_TRACE_FRAMES && i >= keep && i < frames.len() - keep {
            if i == keep {
                out.push_str(&format!("... {} frames ...\n", frames.len() - 2 * keep));
            }
            continue;
        }
        let (span, what) = frame(item);
        match span {
            Some(span) => out.push_str(&format!("{}: {what}\n", src.position(program, span))),
            None => out.push_str(&format!("{what}\n")),
        }
    }
    out
}

fn frame(item: &EvalStackTraceItem) -> (Option<SpanId>, String) {
    use EvalStackTraceItem as I;
    match item {
        I::Expr { span } => (Some(*span), "while evaluating this expression".into()),
        I::Call { span, name } => (
            *span,
            match name {
                Some(name) => format!("while evaluating call to `{name}`"),
                None => "while evaluating call to function".into(),
            },
        ),
        I::Variable { span, name } => (Some(*span), format!("while evaluating variable `{name}`")),
        I::ArrayItem { span, index } => (*span, format!("while evaluating array item {index}")),
        I::ObjectField { span, name } => (*span, format!("while evaluating field {name:?}")),
        I::CompareArrayItem { index } => (None, format!("while comparing array item {index}")),
        I::CompareObjectField { name } => (None, format!("while comparing field {name:?}")),
        I::ManifestArrayItem { index } => (None, format!("while manifesting array item {index}")),
        I::ManifestObjectField { name } => (None, format!("while manifesting field {name:?}")),
        I::Import { span } => (Some(*span), "while evaluating import".into()),
    }
}

fn type_name(t: EvalErrorValueType) -> &'static str {
    match t {
        EvalErrorValueType::Null => "null",
        EvalErrorValueType::Bool => "boolean",
        EvalErrorValueType::Number => "number",
        EvalErrorValueType::String => "string",
        EvalErrorValueType::Array => "array",
        EvalErrorValueType::Object => "object",
        EvalErrorValueType::Function => "function",
    }
}

fn unary_op(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Minus => "-",
        UnaryOp::Plus => "+",
        UnaryOp::BitwiseNot => "~",
        UnaryOp::LogicNot => "!",
    }
}

fn binary_op(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Rem => "%",
        BinaryOp::Shl => "<<",
        BinaryOp::Shr => ">>",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::In => "in",
        BinaryOp::BitwiseAnd => "&",
        BinaryOp::BitwiseOr => "|",
        BinaryOp::BitwiseXor => "^",
        BinaryOp::LogicAnd => "&&",
        BinaryOp::LogicOr => "||",
    }
}

fn expected_name(t: ExpectedToken) -> String {
    match t {
        ExpectedToken::EndOfFile => "end of file".into(),
        ExpectedToken::Simple(kind) => format!("`{}`", token_text(kind)),
        ExpectedToken::Ident => "identifier".into(),
        ExpectedToken::Number => "number".into(),
        ExpectedToken::String => "string".into(),
        ExpectedToken::TextBlock => "text block".into(),
        ExpectedToken::Expr => "expression".into(),
        ExpectedToken::BinaryOp => "binary operator".into(),
    }
}

fn actual_name(t: &ActualToken) -> String {
    match t {
        ActualToken::EndOfFile => "end of file".into(),
        ActualToken::Simple(kind) => format!("`{}`", token_text(*kind)),
        ActualToken::OtherOp(op) => format!("`{op}`"),
        ActualToken::Ident(name) => format!("identifier `{name}`"),
        ActualToken::Number => "number".into(),
        ActualToken::String => "string".into(),
        ActualToken::TextBlock => "text block".into(),
    }
}

fn token_text(kind: STokenKind) -> &'static str {
    use STokenKind as S;
    match kind {
        S::Assert => "assert",
        S::Else => "else",
        S::Error => "error",
        S::False => "false",
        S::For => "for",
        S::Function => "function",
        S::If => "if",
        S::Import => "import",
        S::Importstr => "importstr",
        S::Importbin => "importbin",
        S::In => "in",
        S::Local => "local",
        S::Null => "null",
        S::Tailstrict => "tailstrict",
        S::Then => "then",
        S::Self_ => "self",
        S::Super => "super",
        S::True => "true",
        S::Exclam => "!",
        S::ExclamEq => "!=",
        S::Dollar => "$",
        S::Percent => "%",
        S::Amp => "&",
        S::AmpAmp => "&&",
        S::LeftParen => "(",
        S::RightParen => ")",
        S::Asterisk => "*",
        S::Plus => "+",
        S::PlusColon => "+:",
        S::PlusColonColon => "+::",
        S::PlusColonColonColon => "+:::",
        S::Comma => ",",
        S::Minus => "-",
        S::Dot => ".",
        S::Slash => "/",
        S::Colon => ":",
        S::ColonColon => "::",
        S::ColonColonColon => ":::",
        S::Semicolon => ";",
        S::Lt => "<",
        S::LtLt => "<<",
        S::LtEq => "<=",
        S::Eq => "=",
        S::EqEq => "==",
        S::Gt => ">",
        S::GtEq => ">=",
        S::GtGt => ">>",
        S::LeftBracket => "[",
        S::RightBracket => "]",
        S::Hat => "^",
        S::LeftBrace => "{",
        S::Pipe => "|",
        S::PipePipe => "||",
        S::RightBrace => "}",
        S::Tilde => "~",
    }
}
