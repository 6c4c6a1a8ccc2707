//! Commands down a link and their replies up: done, failed by the child,
//! failed here because the link dropped or the child stayed silent; a child
//! cannot answer another child's command.

mod common;

use std::time::Duration;

use common::*;
use mcu_cascade::ids::{ConnId, EndpointId, RequestId};
use mcu_cascade::link::{ChildLink, LinkOutput, LinkTiming};
use mcu_cascade::parent::{ChildNotUp, ParentLinks, ParentOutput};
use mcu_cascade::wire::{Command, CommandError, CommandErrorCode, UpMessage};

fn x() -> EndpointId {
    EndpointId::new("ubnd-xa-hop-thanh").unwrap()
}

fn select_x() -> Command {
    Command::SelectUplink { endpoint: x() }
}

fn replies(net: &Net) -> Vec<(RequestId, Option<CommandError>)> {
    net.parent_events
        .iter()
        .filter_map(|(_, _, e)| match e {
            ParentOutput::Reply {
                request_id, error, ..
            } => Some((*request_id, error.clone())),
            _ => None,
        })
        .collect()
}

fn commands(net: &Net) -> Vec<(RequestId, Command)> {
    net.child_events
        .iter()
        .filter_map(|(_, e)| match e {
            LinkOutput::Command {
                request_id,
                command,
            } => Some((*request_id, command.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_command_reaches_the_child_and_its_reply_comes_back() {
    let mut net = Net::new(LinkTiming::default(), false);
    let now = net.now;
    let rid = net
        .parents
        .get_mut(&id(PRIMARY))
        .unwrap()
        .links
        .send_command(now, &id(CHILD), select_x())
        .unwrap();
    net.pump();
    assert_eq!(commands(&net), [(rid, select_x())]);
    net.child.reply(now, rid, None).unwrap();
    net.pump();
    assert_eq!(replies(&net), [(rid, None)]);
}

#[test]
fn a_failure_found_below_comes_back_with_where_it_was_found() {
    let mut net = Net::new(LinkTiming::default(), false);
    let now = net.now;
    let rid = net
        .parents
        .get_mut(&id(PRIMARY))
        .unwrap()
        .links
        .send_command(now, &id(CHILD), select_x())
        .unwrap();
    net.pump();
    let error = CommandError {
        code: CommandErrorCode::EndpointNotConnected,
        endpoint: x(),
        at: id("hop-thanh"),
    };
    net.child.reply(now, rid, Some(error.clone())).unwrap();
    net.pump();
    assert_eq!(replies(&net), [(rid, Some(error))]);
}

#[test]
fn pending_commands_fail_with_link_down_when_the_link_drops() {
    let mut net = Net::new(LinkTiming::default(), false);
    let now = net.now;
    let rid = net
        .parents
        .get_mut(&id(PRIMARY))
        .unwrap()
        .links
        .send_command(now, &id(CHILD), select_x())
        .unwrap();
    net.pump();
    // The link drops before the child answers.
    net.parents
        .get_mut(&id(PRIMARY))
        .unwrap()
        .links
        .close_child(now, &id(CHILD));
    net.pump();
    assert_eq!(
        replies(&net),
        [(
            rid,
            Some(CommandError {
                code: CommandErrorCode::LinkDown,
                endpoint: x(),
                at: id(PRIMARY),
            })
        )]
    );
    // A late reply on the new link is not reported twice.
    net.run_for(Duration::from_secs(1));
    assert!(net.child.up().is_some());
    net.child.reply(net.now, rid, None).unwrap();
    net.pump();
    assert_eq!(replies(&net).len(), 1);
}

#[test]
fn a_command_without_reply_times_out() {
    let mut net = Net::new(LinkTiming::default(), false);
    let now = net.now;
    let rid = net
        .parents
        .get_mut(&id(PRIMARY))
        .unwrap()
        .links
        .send_command(now, &id(CHILD), select_x())
        .unwrap();
    net.run_for(Duration::from_secs(6)); // the child never replies
    assert_eq!(
        replies(&net),
        [(
            rid,
            Some(CommandError {
                code: CommandErrorCode::Timeout,
                endpoint: x(),
                at: id(PRIMARY),
            })
        )]
    );
    assert!(
        net.child.up().is_some(),
        "a slow command does not drop the link"
    );
}

#[test]
fn a_command_for_a_child_that_is_not_linked_is_refused_at_once() {
    let mut net = Net::new(LinkTiming::default(), false);
    let now = net.now;
    let err = net
        .parents
        .get_mut(&id(PRIMARY))
        .unwrap()
        .links
        .send_command(now, &id("hai-phong"), select_x())
        .unwrap_err();
    assert_eq!(err, ChildNotUp(id("hai-phong")));
}

#[test]
fn a_child_cannot_answer_another_childs_command() {
    let now = t0();
    let mut parent = ParentLinks::new(parent_config(
        PRIMARY,
        &[(CHILD, secret("primary")), ("hai-phong", secret("hp"))],
    ));
    let mut tq = ChildLink::new(child_config(LinkTiming::default(), false), now);
    let mut hp_cfg = child_config(LinkTiming::default(), false);
    hp_cfg.link = id("hai-phong");
    hp_cfg.primary.secret = secret("hp");
    let mut hp = ChildLink::new(hp_cfg, now);
    link_by_hand(&mut parent, &mut tq, now, ConnId(1));
    link_by_hand(&mut parent, &mut hp, now, ConnId(2));
    let rid = parent.send_command(now, &id(CHILD), select_x()).unwrap();
    while !matches!(parent.poll_output(), ParentOutput::Timeout(_)) {}
    // hai-phong forges a reply to tuyen-quang's command.
    parent.handle_message(
        now,
        ConnId(2),
        UpMessage::Reply {
            request_id: rid,
            error: None,
        },
    );
    assert!(matches!(parent.poll_output(), ParentOutput::Timeout(_)));
    // The real answer is still accepted.
    parent.handle_message(
        now,
        ConnId(1),
        UpMessage::Reply {
            request_id: rid,
            error: None,
        },
    );
    assert_eq!(
        parent.poll_output(),
        ParentOutput::Reply {
            child: id(CHILD),
            request_id: rid,
            error: None
        }
    );
}
