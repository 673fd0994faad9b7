"""The WeChat Official Account channel (wechatpy): safe mode, the 5-second rule, the window."""

from bot.channels.wechat.channel import WeChatChannel, wechat_channel

__all__ = ["WeChatChannel", "wechat_channel"]
