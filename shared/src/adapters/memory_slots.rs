//! Cached post counts, viewer state and user summaries in this process's memory: the embedded
//! default of the local server, where this one process makes every write. Never for Lambda
//! functions without Redis: there each instance would keep its own copy, and another instance's
//! writes could not reach it.
//!
//! Generations come from one counter that only grows, so a generation is never handed out
//! twice. A slot that is not held reads at the generation of the last sweep, which is above
//! every generation read before it: a fill read before a sweep can never land after it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use async_trait::async_trait;

use crate::ports::{Fill, Slot, SlotCache, SlotKey};

struct Held {
    generation: u64,
    /// The value and when it stops being served.
    value: Option<(Vec<u8>, Instant)>,
}

struct Slots {
    held: HashMap<SlotKey, Held>,
    /// The last generation handed out.
    counter: u64,
    /// The generation of every slot not held: the counter at the last sweep.
    floor: u64,
}

impl Slots {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn generation(&self, key: &SlotKey) -> u64 {
        self.held
            .get(key)
            .map_or(self.floor, |held| held.generation)
    }

    /// Makes room when full: expired values go; if that is not enough, everything goes. Either
    /// way the floor moves past every generation read so far.
    fn sweep(&mut self, capacity: usize, now: Instant) {
        if self.held.len() < capacity {
            return;
        }
        self.held
            .retain(|_, held| held.value.as_ref().is_some_and(|(_, until)| *until > now));
        if self.held.len() >= capacity / 2 {
            self.held.clear();
        }
        self.floor = self.next();
    }
}

pub struct MemorySlots {
    slots: Mutex<Slots>,
    capacity: usize,
}

impl MemorySlots {
    /// At most about `capacity` slots are held at once.
    pub fn new(capacity: usize) -> Self {
        Self {
            slots: Mutex::new(Slots {
                held: HashMap::new(),
                counter: 0,
                floor: 0,
            }),
            capacity: capacity.max(2),
        }
    }

    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Slots>> {
        self.slots
            .lock()
            .map_err(|_| anyhow::anyhow!("slot cache lock poisoned"))
    }
}

#[async_trait]
impl SlotCache for MemorySlots {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn get(&self, keys: &[SlotKey]) -> anyhow::Result<Vec<Slot>> {
        let now = Instant::now();
        let slots = self.lock()?;
        Ok(keys
            .iter()
            .map(|key| match slots.held.get(key) {
                Some(held) => Slot {
                    generation: held.generation,
                    value: held
                        .value
                        .as_ref()
                        .filter(|(_, until)| *until > now)
                        .map(|(value, _)| value.clone()),
                },
                None => Slot {
                    generation: slots.floor,
                    value: None,
                },
            })
            .collect())
    }

    async fn fill(&self, fills: &[Fill]) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut slots = self.lock()?;
        slots.sweep(self.capacity, now);
        for fill in fills {
            if slots.generation(&fill.key) != fill.generation {
                continue;
            }
            slots.held.insert(
                fill.key,
                Held {
                    generation: fill.generation,
                    value: Some((fill.value.clone(), now + fill.ttl)),
                },
            );
        }
        Ok(())
    }

    async fn forget(&self, keys: &[SlotKey]) -> anyhow::Result<()> {
        let mut slots = self.lock()?;
        slots.sweep(self.capacity, Instant::now());
        for key in keys {
            let generation = slots.next();
            slots.held.insert(
                *key,
                Held {
                    generation,
                    value: None,
                },
            );
        }
        Ok(())
    }
}
