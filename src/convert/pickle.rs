//! A reader of the subset of Python's pickle format that `torch.save` (protocol 2) writes, with
//! hard limits so that a hostile file cannot exhaust memory or the stack.
//!
//! Values are plain data: a `GLOBAL` stays a name, a `REDUCE` stays a call (the torch layer
//! interprets the few it knows), except `collections.OrderedDict()`, which becomes a
//! [`Value::Dict`] so that `SETITEM(S)` fill it. Nothing is ever imported or executed.
//!
//! Memo entries are copies taken when they are stored; fetching a list or dict from the memo
//! is refused, because a copy would miss the changes a shared Python object would see (torch's
//! state dicts never share one). Every copy is charged to a budget, so repeated fetches of a
//! large value cannot multiply memory.

use std::collections::HashMap;

use crate::{Error, Result};

/// Most values (nodes, plus string bytes) a file may create, copies included.
pub const MAX_COST: usize = 1 << 22;
/// Most items on the stack (marks included).
pub const MAX_STACK: usize = 1 << 16;
/// Most memo entries.
pub const MAX_MEMO: usize = 1 << 16;
/// Longest string, in bytes.
pub const MAX_STRING: usize = 1 << 16;
/// Deepest nesting of containers.
pub const MAX_DEPTH: usize = 32;

/// A pickled value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    /// Ints up to 128 bits (torch's magic number is 80).
    Int(i128),
    Float(f64),
    Str(String),
    /// `module.name`, as written by `GLOBAL`.
    Global(String, String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A dict or `OrderedDict`: its pairs in insertion order, a repeated key kept twice (the
    /// reader of the dict decides; searching for it here would make a long dict quadratic).
    Dict(Vec<(Value, Value)>),
    /// `func(*args)` from `REDUCE`, not evaluated.
    Call(Box<Value>, Box<Value>),
    /// A persistent id (`BINPERSID`): torch's reference to a storage.
    PersId(Box<Value>),
}

impl Value {
    /// Nodes and string bytes: what a copy of this value costs.
    fn cost(&self) -> usize {
        match self {
            Value::Str(s) => 1 + s.len(),
            Value::Global(m, n) => 1 + m.len() + n.len(),
            Value::Tuple(v) | Value::List(v) => 1 + v.iter().map(Value::cost).sum::<usize>(),
            Value::Dict(v) => 1 + v.iter().map(|(k, x)| k.cost() + x.cost()).sum::<usize>(),
            Value::Call(f, a) => 1 + f.cost() + a.cost(),
            Value::PersId(v) => 1 + v.cost(),
            _ => 1,
        }
    }

    /// A short name of the value's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Global(..) => "global",
            Value::Tuple(_) => "tuple",
            Value::List(_) => "list",
            Value::Dict(_) => "dict",
            Value::Call(..) => "call",
            Value::PersId(_) => "persistent id",
        }
    }
}

fn bad(msg: String) -> Error {
    Error::BackboneSource(msg)
}

/// A stack item: a value with its nesting depth, or a `MARK`.
enum Item {
    Mark,
    Value(Value, usize),
}

/// Reads one pickle starting at `bytes[start..]`; returns the value and the offset just past
/// its `STOP`. Errors name the offset, and the opcode when it is not supported.
pub fn load(bytes: &[u8], start: usize) -> Result<(Value, usize)> {
    Machine {
        bytes,
        pos: start,
        stack: Vec::new(),
        memo: HashMap::new(),
        cost: 0,
    }
    .run()
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    stack: Vec<Item>,
    memo: HashMap<u32, (Value, usize)>,
    cost: usize,
}

impl Machine<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(bad(format!(
                "truncated: the pickle at byte {} needs {n} more bytes, {} are left",
                self.pos,
                self.bytes.len().saturating_sub(self.pos)
            ))),
        }
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn le<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        b.copy_from_slice(self.take(N)?);
        Ok(b)
    }

    fn line(&mut self) -> Result<String> {
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        let len = rest
            .iter()
            .take(MAX_STRING + 1)
            .position(|&b| b == b'\n')
            .ok_or_else(|| {
                bad(format!(
                    "truncated or over-long GLOBAL name at byte {}",
                    self.pos
                ))
            })?;
        let s = self.take(len)?.to_vec();
        self.pos += 1;
        String::from_utf8(s)
            .map_err(|_| bad(format!("GLOBAL name before byte {} is not UTF-8", self.pos)))
    }

    fn string(&mut self, len: usize) -> Result<String> {
        if len > MAX_STRING {
            return Err(bad(format!(
                "a string of {len} bytes at byte {} (limit {MAX_STRING})",
                self.pos
            )));
        }
        let s = self.take(len)?.to_vec();
        String::from_utf8(s)
            .map_err(|_| bad(format!("a string before byte {} is not UTF-8", self.pos)))
    }

    fn charge(&mut self, cost: usize) -> Result<()> {
        self.cost += cost;
        if self.cost > MAX_COST {
            return Err(bad(format!(
                "the pickle builds more than {MAX_COST} values (byte {})",
                self.pos
            )));
        }
        Ok(())
    }

    fn push(&mut self, value: Value, depth: usize) -> Result<()> {
        if depth > MAX_DEPTH {
            return Err(bad(format!(
                "values nested deeper than {MAX_DEPTH} (byte {})",
                self.pos
            )));
        }
        if self.stack.len() >= MAX_STACK {
            return Err(bad(format!(
                "more than {MAX_STACK} items on the pickle stack (byte {})",
                self.pos
            )));
        }
        self.charge(1)?;
        self.stack.push(Item::Value(value, depth));
        Ok(())
    }

    fn push_leaf(&mut self, value: Value) -> Result<()> {
        self.push(value, 0)
    }

    fn pop(&mut self) -> Result<(Value, usize)> {
        match self.stack.pop() {
            Some(Item::Value(v, d)) => Ok((v, d)),
            Some(Item::Mark) => Err(bad(format!(
                "unexpected MARK on the stack (byte {})",
                self.pos
            ))),
            None => Err(bad(format!("pickle stack underflow (byte {})", self.pos))),
        }
    }

    fn top(&mut self) -> Result<(&mut Value, &mut usize)> {
        match self.stack.last_mut() {
            Some(Item::Value(v, d)) => Ok((v, d)),
            _ => Err(bad(format!(
                "no value on the pickle stack (byte {})",
                self.pos
            ))),
        }
    }

    /// The items above the last mark (the mark removed), with their greatest depth.
    fn pop_mark(&mut self) -> Result<(Vec<Value>, usize)> {
        let at = self
            .stack
            .iter()
            .rposition(|i| matches!(i, Item::Mark))
            .ok_or_else(|| bad(format!("no MARK on the pickle stack (byte {})", self.pos)))?;
        let mut depth = 0;
        let items = self
            .stack
            .drain(at..)
            .skip(1)
            .filter_map(|i| match i {
                Item::Value(v, d) => {
                    depth = depth.max(d);
                    Some(v)
                }
                Item::Mark => None,
            })
            .collect();
        Ok((items, depth))
    }

    fn pop_n(&mut self, n: usize) -> Result<(Vec<Value>, usize)> {
        let mut items = Vec::with_capacity(n);
        let mut depth = 0;
        for _ in 0..n {
            let (v, d) = self.pop()?;
            depth = depth.max(d);
            items.push(v);
        }
        items.reverse();
        Ok((items, depth))
    }

    fn put(&mut self, id: u32) -> Result<()> {
        let (value, depth) = match self.stack.last() {
            Some(Item::Value(v, d)) => (v.clone(), *d),
            _ => return Err(bad(format!("memo PUT with no value (byte {})", self.pos))),
        };
        if self.memo.len() >= MAX_MEMO && !self.memo.contains_key(&id) {
            return Err(bad(format!(
                "more than {MAX_MEMO} memo entries (byte {})",
                self.pos
            )));
        }
        self.charge(value.cost())?;
        self.memo.insert(id, (value, depth));
        Ok(())
    }

    fn get(&mut self, id: u32) -> Result<()> {
        let (value, depth) = self
            .memo
            .get(&id)
            .ok_or_else(|| bad(format!("memo entry {id} is not set (byte {})", self.pos)))?;
        if matches!(value, Value::List(_) | Value::Dict(_)) {
            return Err(bad(format!(
                "memo entry {id} is a shared {} (byte {}): not supported",
                value.type_name(),
                self.pos
            )));
        }
        let (value, depth) = (value.clone(), *depth);
        self.charge(value.cost())?;
        self.push(value, depth)
    }

    fn set_items(&mut self, pairs: Vec<Value>, depth: usize) -> Result<()> {
        if pairs.len() % 2 != 0 {
            return Err(bad(format!(
                "SETITEMS with an odd number of items (byte {})",
                self.pos
            )));
        }
        let pos = self.pos;
        let (target, target_depth) = self.top()?;
        let Value::Dict(map) = target else {
            return Err(bad(format!(
                "SETITEM on a {} (byte {pos})",
                target.type_name()
            )));
        };
        let mut it = pairs.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            map.push((k, v));
        }
        *target_depth = (*target_depth).max(depth + 1);
        if *target_depth > MAX_DEPTH {
            return Err(bad(format!(
                "values nested deeper than {MAX_DEPTH} (byte {pos})"
            )));
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>, depth: usize) -> Result<()> {
        let pos = self.pos;
        let (target, target_depth) = self.top()?;
        let Value::List(list) = target else {
            return Err(bad(format!(
                "APPEND on a {} (byte {pos})",
                target.type_name()
            )));
        };
        list.extend(items);
        *target_depth = (*target_depth).max(depth + 1);
        if *target_depth > MAX_DEPTH {
            return Err(bad(format!(
                "values nested deeper than {MAX_DEPTH} (byte {pos})"
            )));
        }
        Ok(())
    }

    fn run(mut self) -> Result<(Value, usize)> {
        loop {
            let at = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    // PROTO
                    let p = self.u8()?;
                    if p > 4 {
                        return Err(bad(format!(
                            "pickle protocol {p} at byte {at} (this reads 2 to 4)"
                        )));
                    }
                }
                0x95 => {
                    // FRAME: a length prefix only (protocol 4); the frame's content follows.
                    self.le::<8>()?;
                }
                b'.' => {
                    let (v, _) = self.pop()?;
                    return Ok((v, self.pos));
                }
                b'(' => {
                    if self.stack.len() >= MAX_STACK {
                        return Err(bad(format!(
                            "more than {MAX_STACK} items on the pickle stack (byte {at})"
                        )));
                    }
                    self.stack.push(Item::Mark);
                }
                b'N' => self.push_leaf(Value::None)?,
                0x88 => self.push_leaf(Value::Bool(true))?,
                0x89 => self.push_leaf(Value::Bool(false))?,
                b'J' => {
                    let v = i32::from_le_bytes(self.le()?);
                    self.push_leaf(Value::Int(v.into()))?
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push_leaf(Value::Int(v.into()))?
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.le()?);
                    self.push_leaf(Value::Int(v.into()))?
                }
                0x8a => {
                    // LONG1: little-endian two's complement of n bytes.
                    let n = usize::from(self.u8()?);
                    if n > 16 {
                        return Err(bad(format!("a {n}-byte integer at byte {at} (limit 16)")));
                    }
                    let raw = self.take(n)?;
                    let fill = if raw.last().is_some_and(|b| b & 0x80 != 0) {
                        0xff
                    } else {
                        0
                    };
                    let mut b = [fill; 16];
                    b[..n].copy_from_slice(raw);
                    self.push_leaf(Value::Int(i128::from_le_bytes(b)))?
                }
                b'G' => {
                    let v = f64::from_be_bytes(self.le()?);
                    self.push_leaf(Value::Float(v))?
                }
                b'X' => {
                    let len = u32::from_le_bytes(self.le()?) as usize;
                    let s = self.string(len)?;
                    self.charge(len)?;
                    self.push_leaf(Value::Str(s))?
                }
                0x8c => {
                    let len = usize::from(self.u8()?);
                    let s = self.string(len)?;
                    self.charge(len)?;
                    self.push_leaf(Value::Str(s))?
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.charge(module.len() + name.len())?;
                    self.push_leaf(Value::Global(module, name))?
                }
                b'}' => self.push_leaf(Value::Dict(Vec::new()))?,
                b']' => self.push_leaf(Value::List(Vec::new()))?,
                b')' => self.push_leaf(Value::Tuple(Vec::new()))?,
                b't' => {
                    let (items, d) = self.pop_mark()?;
                    self.push(Value::Tuple(items), d + 1)?
                }
                0x85..=0x87 => {
                    let (items, d) = self.pop_n(usize::from(op - 0x84))?;
                    self.push(Value::Tuple(items), d + 1)?
                }
                b's' => {
                    let (items, d) = self.pop_n(2)?;
                    self.set_items(items, d)?
                }
                b'u' => {
                    let (items, d) = self.pop_mark()?;
                    self.set_items(items, d)?
                }
                b'a' => {
                    let (item, d) = self.pop()?;
                    self.append(vec![item], d)?
                }
                b'e' => {
                    let (items, d) = self.pop_mark()?;
                    self.append(items, d)?
                }
                b'q' => {
                    let id = self.u8()?;
                    self.put(id.into())?
                }
                b'r' => {
                    let id = u32::from_le_bytes(self.le()?);
                    self.put(id)?
                }
                b'h' => {
                    let id = self.u8()?;
                    self.get(id.into())?
                }
                b'j' => {
                    let id = u32::from_le_bytes(self.le()?);
                    self.get(id)?
                }
                b'Q' => {
                    let (pid, d) = self.pop()?;
                    self.push(Value::PersId(Box::new(pid)), d + 1)?
                }
                b'R' => {
                    let (args, da) = self.pop()?;
                    let (func, df) = self.pop()?;
                    let is_ordered_dict = matches!(&func, Value::Global(m, n)
                        if m == "collections" && n == "OrderedDict")
                        && args == Value::Tuple(Vec::new());
                    if is_ordered_dict {
                        self.push_leaf(Value::Dict(Vec::new()))?
                    } else {
                        self.push(Value::Call(Box::new(func), Box::new(args)), da.max(df) + 1)?
                    }
                }
                b'b' => {
                    // BUILD: the state of an `OrderedDict` is its attributes (torch's
                    // `_metadata`, module versions), which the weights do not need.
                    let (state, _) = self.pop()?;
                    let (target, _) = self.top()?;
                    if !matches!(target, Value::Dict(_)) {
                        return Err(bad(format!(
                            "BUILD on a {} with a {} state at byte {at}: not supported",
                            target.type_name(),
                            state.type_name()
                        )));
                    }
                }
                other => {
                    return Err(bad(format!(
                        "unsupported pickle opcode {} (0x{other:02x}) at byte {at}",
                        opcode_name(other)
                    )))
                }
            }
        }
    }
}

/// Python's name of a pickle opcode (`pickletools`), for messages.
fn opcode_name(op: u8) -> &'static str {
    match op {
        b'I' => "INT",
        b'L' => "LONG",
        b'F' => "FLOAT",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        b'P' => "PERSID",
        b'p' => "PUT",
        b'g' => "GET",
        b'l' => "LIST",
        b'd' => "DICT",
        b'i' => "INST",
        b'o' => "OBJ",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x8b => "LONG4",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    }
}
